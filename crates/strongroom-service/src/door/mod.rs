//! The one door every operation passes: a caller and an operation at a scope are authorized,
//! writes meet the governance hook, the operation acts, and an audit event records what
//! happened, allowed or refused.
//!
//! ```text
//! Caller + Operation + Scope -> authorize -> governance (writes) -> act -> audit
//! ```
//!
//! Each use case (create a key, sign, purge a deleted key, issue a token, ...) wraps its work in
//! [`Door::pass`], or [`Door::pass_write`] when it changes what is stored: every store write
//! then takes the operation's [`WriteEvent`] and commits it with the write, so no write is
//! stored without its event. The HTTP layer and the scheduler only build the [`Caller`] and call the use
//! case. Authorization is a port ([`Authorizer`]), implemented by
//! [`crate::access::RoleAuthorizer`] (role assignments of each vault and pool, administration
//! for the deployment's administrators). Audit is a port too ([`AuditSink`]).

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use async_trait::async_trait;
use strongroom_core::DomainError;
use strongroom_core::audit::{AuditRecord, WriteEvent};
use strongroom_core::error::DomainResult;
use strongroom_core::names::{KeyName, VaultName};

use crate::tokens::Principal;

mod operation;

pub use operation::{Operation, Plane};

/// Who acts: an identity with a verified token, or the server itself (a scheduled job).
#[derive(Debug, Clone)]
pub enum Actor {
    /// An identity that presented a valid token.
    Identity(Arc<Principal>),
    /// An identity proving itself to the token service (a client secret, the managed-identity
    /// header): not yet holding a token.
    Anonymous,
    /// The server's own work, named by the job.
    System(&'static str),
}

/// Who calls, from where, in which request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who acts.
    pub actor: Actor,
    /// The client's address, when a network request carries the call.
    pub client: Option<IpAddr>,
    /// The request id (`x-ms-request-id` of the answer), or the job run's id.
    pub request_id: Arc<str>,
    /// Where the door notes the role assignment that allowed the call, for the answer's
    /// `x-ms-keyvault-rbac-assignment-id`.
    pub granted: Option<GrantSlot>,
}

/// The role assignment that allowed a request, once the door has decided.
pub type GrantSlot = Arc<OnceLock<Arc<str>>>;

impl Caller {
    /// An identity calling over the network.
    pub fn identity(
        principal: Arc<Principal>,
        client: Option<IpAddr>,
        request_id: Arc<str>,
    ) -> Self {
        Self {
            actor: Actor::Identity(principal),
            client,
            request_id,
            granted: None,
        }
    }

    /// A caller without a token yet (the token service's callers).
    pub fn anonymous(client: Option<IpAddr>, request_id: Arc<str>) -> Self {
        Self {
            actor: Actor::Anonymous,
            client,
            request_id,
            granted: None,
        }
    }

    /// The server itself, running `job`.
    pub fn system(job: &'static str, run_id: Arc<str>) -> Self {
        Self {
            actor: Actor::System(job),
            client: None,
            request_id: run_id,
            granted: None,
        }
    }

    /// The same caller, noting the assignment that allows it in `slot`.
    pub fn noting_grant_in(mut self, slot: GrantSlot) -> Self {
        self.granted = Some(slot);
        self
    }

    /// The principal's object id, or the job's name.
    pub fn who(&self) -> &str {
        match &self.actor {
            Actor::Identity(p) => &p.object_id,
            Actor::Anonymous => "anonymous",
            Actor::System(job) => job,
        }
    }
}

/// Where an operation acts: the deployment, a vault or pool (`/`), its keys (`/keys`) or one
/// key (`/keys/{name}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The deployment: vaults, pools, identities, tokens.
    Deployment,
    /// A vault or pool as a whole.
    Vault(VaultName),
    /// All keys of a vault or pool.
    Keys(VaultName),
    /// One key.
    Key(VaultName, KeyName),
}

impl Scope {
    /// The vault or pool, and the key, acted on.
    pub fn target(&self) -> Option<(&VaultName, Option<&KeyName>)> {
        match self {
            Self::Deployment => None,
            Self::Vault(v) | Self::Keys(v) => Some((v, None)),
            Self::Key(v, k) => Some((v, Some(k))),
        }
    }

    /// The resource id in audit events: `/vaults/{v}[/keys[/{k}]]`, or `/`.
    pub fn resource(&self) -> String {
        match self {
            Self::Deployment => "/".into(),
            Self::Vault(v) => format!("/vaults/{v}"),
            Self::Keys(v) => format!("/vaults/{v}/keys"),
            Self::Key(v, k) => format!("/vaults/{v}/keys/{k}"),
        }
    }
}

/// Why an operation was allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// A rule of the deployment, named (the token service, the server's own work, an
    /// administrator administering).
    Rule(&'static str),
    /// The role assignment with this name (GUID).
    Assignment(Arc<str>),
}

/// Decides whether a caller may perform an operation at a scope.
#[async_trait]
pub trait Authorizer: Send + Sync {
    /// Why the operation is allowed, or the refusal (403, or 404 for a vault that does not
    /// exist).
    async fn authorize(
        &self,
        caller: &Caller,
        operation: Operation,
        scope: &Scope,
    ) -> DomainResult<Grant>;
}

/// What happened to one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unix seconds.
    pub time: i64,
    /// The request (or job run) id.
    pub request_id: Arc<str>,
    /// The principal's object id, or the job's name.
    pub principal: String,
    /// The principal's client (application) id, when an identity acts.
    pub app_id: Option<String>,
    /// The client's address.
    pub client: Option<IpAddr>,
    /// The operation's name.
    pub operation: &'static str,
    /// The resource acted on.
    pub resource: String,
    /// `Success`, `Forbidden`, or the error's kind.
    pub result: &'static str,
    /// The HTTP status the outcome is answered with.
    pub status: u16,
    /// How long the operation took, in microseconds.
    pub duration_us: u64,
}

impl AuditEvent {
    /// The event as a record of `chain`, at `seq` after the event hashed `prev_hash` (its own
    /// hash still to compute).
    pub fn into_record(self, chain: &str, seq: i64, prev_hash: String) -> AuditRecord {
        AuditRecord {
            chain: chain.to_owned(),
            seq,
            time: self.time,
            request_id: self.request_id.to_string(),
            principal: self.principal,
            app_id: self.app_id.unwrap_or_default(),
            client: self.client.map(|c| c.to_string()).unwrap_or_default(),
            operation: self.operation.to_owned(),
            resource: self.resource,
            result: self.result.to_owned(),
            status: Some(self.status),
            duration_us: i64::try_from(self.duration_us).unwrap_or(i64::MAX),
            prev_hash,
            hash: String::new(),
        }
    }
}

/// Where audit events go.
pub trait AuditSink: Send + Sync {
    /// Whether events are recorded at all now (no event is built when not).
    fn enabled(&self) -> bool {
        true
    }

    /// Records one event; never fails the operation.
    fn record(&self, event: AuditEvent);

    /// The chain the events of writes are stored for, by the writes' own transactions; none
    /// when this sink keeps no stored log.
    fn write_chain(&self) -> Option<&str> {
        None
    }

    /// A write committed with its event (given here as well, to log): the event is linked
    /// into the chain within the group-commit delay.
    fn stored(&self, event: AuditEvent) {
        let _ = event;
    }
}

/// Audit events as structured log lines at debug level, target `strongroom::audit`
/// (`log = "info,strongroom::audit=debug"` shows them).
#[derive(Debug, Default, Clone, Copy)]
pub struct LogAudit;

impl AuditSink for LogAudit {
    fn enabled(&self) -> bool {
        tracing::enabled!(target: "strongroom::audit", tracing::Level::DEBUG)
    }

    fn record(&self, e: AuditEvent) {
        tracing::debug!(
            target: "strongroom::audit",
            time = e.time,
            request_id = %e.request_id,
            principal = %e.principal,
            app_id = e.app_id.as_deref().unwrap_or_default(),
            client = ?e.client,
            operation = e.operation,
            resource = %e.resource,
            result = e.result,
            duration_us = e.duration_us,
        );
    }
}

/// Changes checked before they are stored. Key governance plugs in here; until then every
/// change passes.
pub trait Governance: Send + Sync {
    /// Whether `operation` at `scope` may change what is stored.
    fn check(&self, caller: &Caller, operation: Operation, scope: &Scope) -> DomainResult<()>;
}

/// No governance policy assigned: every change passes.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPolicies;

impl Governance for NoPolicies {
    fn check(&self, _: &Caller, _: Operation, _: &Scope) -> DomainResult<()> {
        Ok(())
    }
}

/// The door: the authorizer, governance and audit every operation passes.
pub struct Door {
    authorizer: Arc<dyn Authorizer>,
    governance: Arc<dyn Governance>,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn strongroom_core::clock::Clock>,
}

impl Door {
    /// A door with these ports.
    pub fn new(
        authorizer: Arc<dyn Authorizer>,
        governance: Arc<dyn Governance>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn strongroom_core::clock::Clock>,
    ) -> Self {
        Self {
            authorizer,
            governance,
            audit,
            clock,
        }
    }

    /// Authorizes `operation` at `scope` for `caller`, runs `act`, and records the outcome.
    /// An operation that writes passes with [`Door::pass_write`] instead.
    pub async fn pass<T, F>(
        &self,
        caller: &Caller,
        operation: Operation,
        scope: Scope,
        act: F,
    ) -> DomainResult<T>
    where
        F: Future<Output = DomainResult<T>>,
    {
        debug_assert!(
            !operation.is_write(),
            "{} writes: it passes with pass_write",
            operation.name()
        );
        self.run(caller, operation, scope, None, act).await
    }

    /// The event of a write of `operation` at `scope` by `caller`, as it reads if the write
    /// succeeds: every store write of the operation takes it, and stores it in its own
    /// transaction.
    pub fn write_event(&self, caller: &Caller, operation: Operation, scope: &Scope) -> WriteEvent {
        let started = Instant::now();
        match self.audit.write_chain() {
            Some(chain) if self.audit.enabled() => {
                let event = self.event(caller, operation, scope, Ok(()), started);
                WriteEvent::new(event.into_record(chain, 0, String::new()), started)
            }
            _ => WriteEvent::unrecorded(),
        }
    }

    /// Authorizes a write of `operation` at `scope` for `caller`, checks it against
    /// governance, runs `act` (whose store writes carry `written`, from
    /// [`Door::write_event`]), and records the outcome: a success whose event the write stored
    /// is not recorded twice.
    pub async fn pass_write<T, F>(
        &self,
        caller: &Caller,
        operation: Operation,
        scope: Scope,
        written: &WriteEvent,
        act: F,
    ) -> DomainResult<T>
    where
        F: Future<Output = DomainResult<T>>,
    {
        debug_assert!(
            written
                .pending()
                .is_none_or(|draft| draft.operation == operation.name()),
            "the write event of {} was drafted for another operation",
            operation.name()
        );
        self.run(caller, operation, scope, Some(written), act).await
    }

    async fn run<T, F>(
        &self,
        caller: &Caller,
        operation: Operation,
        scope: Scope,
        written: Option<&WriteEvent>,
        act: F,
    ) -> DomainResult<T>
    where
        F: Future<Output = DomainResult<T>>,
    {
        let started = Instant::now();
        let outcome = match self.authorizer.authorize(caller, operation, &scope).await {
            Ok(grant) => {
                if let (Grant::Assignment(id), Some(slot)) = (grant, &caller.granted) {
                    // A second decision in one request keeps the first one's assignment.
                    let _ = slot.set(id);
                }
                let governed = if operation.is_write() {
                    self.governance.check(caller, operation, &scope)
                } else {
                    Ok(())
                };
                match governed {
                    Ok(()) => act.await,
                    Err(e) => Err(e),
                }
            }
            Err(refusal) => Err(refusal),
        };
        if !self.audit.enabled() {
            return outcome;
        }
        let event = self.event(
            caller,
            operation,
            &scope,
            outcome.as_ref().map(|_| ()),
            started,
        );
        // A write that failed after storing part of its work keeps its stored event, and its
        // failure is recorded too.
        if outcome.is_ok() && written.is_some_and(WriteEvent::is_stored) {
            self.audit.stored(event);
        } else {
            self.audit.record(event);
        }
        outcome
    }

    fn event(
        &self,
        caller: &Caller,
        operation: Operation,
        scope: &Scope,
        outcome: Result<(), &DomainError>,
        started: Instant,
    ) -> AuditEvent {
        AuditEvent {
            time: self.clock.now(),
            request_id: Arc::clone(&caller.request_id),
            principal: caller.who().to_owned(),
            app_id: match &caller.actor {
                Actor::Identity(p) => Some(p.client_id.clone()),
                _ => None,
            },
            client: caller.client,
            operation: operation.name(),
            resource: scope.resource(),
            result: result_name(outcome),
            status: match outcome {
                Ok(()) => operation.success_status(),
                Err(e) => e.http_status(),
            },
            duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        }
    }
}

fn result_name(outcome: Result<(), &DomainError>) -> &'static str {
    use DomainError as D;
    match outcome {
        Ok(_) => "Success",
        Err(
            D::Forbidden(_)
            | D::ForbiddenByRbac(_)
            | D::ForbiddenByPolicy(_)
            | D::OperationRefused { .. }
            | D::PurgeProtected,
        ) => "Forbidden",
        Err(
            D::KeyNotFound { .. }
            | D::DeletedKeyNotFound { .. }
            | D::VaultNotFound { .. }
            | D::RoleNotFound(_)
            | D::NotFound(_),
        ) => "NotFound",
        Err(
            D::KeyAlreadyExists { .. }
            | D::VaultAlreadyExists { .. }
            | D::KeyDeletedButRecoverable { .. }
            | D::RoleAssignmentExists,
        ) => "Conflict",
        Err(D::BadParameter(_) | D::CryptoFailed(_)) => "BadRequest",
        Err(D::Overloaded) => "Throttled",
        Err(D::Storage(_) | D::Internal(_)) => "InternalError",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use strongroom_core::clock::ManualClock;

    use super::*;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<AuditEvent>>);

    impl AuditSink for Recorded {
        fn record(&self, event: AuditEvent) {
            if let Ok(mut events) = self.0.lock() {
                events.push(event);
            }
        }
    }

    fn principal(admin: bool) -> Arc<Principal> {
        Arc::new(Principal {
            object_id: "oid-1".into(),
            client_id: "app-1".into(),
            name: "app".into(),
            admin,
            audience: "https://vault.strongroom.localhost".into(),
            audience_preapproved: false,
            credential: None,
        })
    }

    /// Administration for administrators, everything else for anyone.
    struct AdminsAdminister;

    #[async_trait]
    impl Authorizer for AdminsAdminister {
        async fn authorize(&self, c: &Caller, op: Operation, _: &Scope) -> DomainResult<Grant> {
            match (&c.actor, op.plane()) {
                (Actor::Identity(p), Plane::Administration) if !p.admin => {
                    Err(DomainError::Forbidden("not an administrator".into()))
                }
                _ => Ok(Grant::Assignment("a-1".into())),
            }
        }
    }

    fn door(audit: Arc<Recorded>) -> Door {
        Door::new(
            Arc::new(AdminsAdminister),
            Arc::new(NoPolicies),
            audit,
            Arc::new(ManualClock::new(1_800_000_000)),
        )
    }

    #[tokio::test]
    async fn every_pass_is_audited_allowed_or_refused() {
        let audit = Arc::new(Recorded::default());
        let door = door(Arc::clone(&audit));
        let vault: VaultName = "vault-one".parse().unwrap();
        let slot = GrantSlot::default();
        let user = Caller::identity(principal(false), "10.0.0.7".parse().ok(), "req-1".into())
            .noting_grant_in(Arc::clone(&slot));
        let signed = door
            .pass(
                &user,
                Operation::KeySign,
                Scope::Key(vault.clone(), "k".parse().unwrap()),
                async { Ok(7) },
            )
            .await;
        assert_eq!(signed.unwrap(), 7);
        assert_eq!(slot.get().map(|id| &**id), Some("a-1"));
        let ran = std::sync::atomic::AtomicBool::new(false);
        let scope = Scope::Vault(vault.clone());
        let written = door.write_event(&user, Operation::VaultDelete, &scope);
        let refused = door
            .pass_write(&user, Operation::VaultDelete, scope, &written, async {
                ran.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert!(matches!(refused, Err(DomainError::Forbidden(_))));
        assert!(
            !ran.load(std::sync::atomic::Ordering::SeqCst),
            "a refused operation never acts"
        );
        let missing: DomainResult<()> = door
            .pass(
                &user,
                Operation::KeyGet,
                Scope::Keys(vault.clone()),
                async { Err(DomainError::KeyNotFound { name: "k".into() }) },
            )
            .await;
        assert!(missing.is_err());

        let events = audit.0.lock().unwrap().clone();
        let seen: Vec<_> = events
            .iter()
            .map(|e| (e.operation, e.result, e.resource.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("KeySign", "Success", "/vaults/vault-one/keys/k"),
                ("VaultDelete", "Forbidden", "/vaults/vault-one"),
                ("KeyGet", "NotFound", "/vaults/vault-one/keys"),
            ]
        );
        assert!(
            events
                .iter()
                .all(|e| &*e.request_id == "req-1" && e.principal == "oid-1")
        );
        assert_eq!(events[0].app_id.as_deref(), Some("app-1"));
        assert_eq!(events[0].client, "10.0.0.7".parse().ok());
        assert_eq!(events[0].time, 1_800_000_000);
    }

    /// A sink that keeps a stored log: the events of writes are stored by the writes.
    #[derive(Default)]
    struct Stored {
        recorded: Mutex<Vec<AuditEvent>>,
        stored: Mutex<Vec<AuditEvent>>,
    }

    impl AuditSink for Stored {
        fn record(&self, event: AuditEvent) {
            self.recorded.lock().unwrap().push(event);
        }

        fn write_chain(&self) -> Option<&str> {
            Some("node-1")
        }

        fn stored(&self, event: AuditEvent) {
            self.stored.lock().unwrap().push(event);
        }
    }

    #[tokio::test]
    async fn a_stored_write_event_is_not_recorded_twice() {
        let audit = Arc::new(Stored::default());
        let door = Door::new(
            Arc::new(AdminsAdminister),
            Arc::new(NoPolicies),
            Arc::clone(&audit) as Arc<dyn AuditSink>,
            Arc::new(ManualClock::new(1_800_000_000)),
        );
        let admin = Caller::identity(principal(true), None, "req-2".into());
        let scope = Scope::Vault("vault-two".parse().unwrap());
        let written = door.write_event(&admin, Operation::VaultCreate, &scope);
        let draft = written.pending().unwrap();
        assert_eq!(
            (
                draft.chain.as_str(),
                draft.operation.as_str(),
                draft.result.as_str()
            ),
            ("node-1", "VaultCreate", "Success")
        );
        assert_eq!(draft.status, Some(201));
        assert_eq!(draft.resource, "/vaults/vault-two");
        // The store marks it once its transaction commits.
        let created = door
            .pass_write(
                &admin,
                Operation::VaultCreate,
                scope.clone(),
                &written,
                async {
                    written.mark_stored();
                    Ok(())
                },
            )
            .await;
        assert!(created.is_ok());
        assert!(written.pending().is_none(), "stored once per operation");
        assert_eq!(audit.stored.lock().unwrap().len(), 1);
        assert!(audit.recorded.lock().unwrap().is_empty());
        // A write that fails before storing is recorded through the queue.
        let failed = door.write_event(&admin, Operation::VaultCreate, &scope);
        let outcome: DomainResult<()> = door
            .pass_write(&admin, Operation::VaultCreate, scope, &failed, async {
                Err(DomainError::VaultAlreadyExists {
                    name: "vault-two".into(),
                })
            })
            .await;
        assert!(outcome.is_err());
        let recorded = audit.recorded.lock().unwrap().clone();
        assert_eq!(recorded.len(), 1);
        assert_eq!((recorded[0].result, recorded[0].status), ("Conflict", 409));
    }

    #[test]
    fn every_data_operation_has_its_key_action() {
        use Operation as O;
        let all = [
            O::KeyCreate,
            O::KeyImport,
            O::KeyGet,
            O::KeyList,
            O::KeyListVersions,
            O::KeyUpdate,
            O::KeyDelete,
            O::KeyGetDeleted,
            O::KeyListDeleted,
            O::KeyRecover,
            O::KeyPurge,
            O::KeyBackup,
            O::KeyRestore,
            O::KeyRotate,
            O::KeyRotationPolicyGet,
            O::KeyRotationPolicySet,
            O::KeyEncrypt,
            O::KeyDecrypt,
            O::KeyWrap,
            O::KeyUnwrap,
            O::KeySign,
            O::KeyVerify,
            O::GetRandomBytes,
            O::VaultCreate,
            O::VaultGet,
            O::VaultList,
            O::VaultDelete,
            O::IdentityCreate,
            O::IdentityList,
            O::IdentityDelete,
            O::IdentityGet,
            O::CredentialAdd,
            O::CredentialRemove,
            O::IssuerList,
            O::IssuerSet,
            O::IssuerDelete,
            O::TokenIssue,
            O::RoleDefinitionRead,
            O::RoleDefinitionWrite,
            O::RoleDefinitionDelete,
            O::RoleAssignmentWrite,
            O::RoleAssignmentRead,
            O::RoleAssignmentDelete,
            O::AccessPolicyList,
            O::AccessPolicySet,
            O::AccessPolicyDelete,
            O::AuditRead,
            O::AuditVerify,
        ];
        for op in all {
            assert_eq!(
                op.key_action().is_some(),
                op.plane() == Plane::Data,
                "{op:?}"
            );
            // Every data-plane operation of a vault has its access-policy permission (random
            // bytes come from pools only, which have no access policies).
            assert_eq!(
                op.key_permission().is_some(),
                op.plane() == Plane::Data && op != O::GetRandomBytes,
                "{op:?}"
            );
        }
        assert_eq!(
            O::KeySign
                .key_action()
                .map(|a| a.data_action(strongroom_core::vault::VaultKind::ManagedHsm)),
            Some("Microsoft.KeyVault/managedHsm/keys/sign/action")
        );
    }
}
