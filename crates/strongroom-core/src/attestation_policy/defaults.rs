//! Default policies: the texts a provider starts with.

/// Permit, and issue nothing beyond the service's claims (the API's stored example).
pub const PERMIT_ALL: &str =
    "version=1.0;\nauthorizationrules\n{\n    => permit();\n};\nissuancerules\n{\n};\n";

/// SGX's default policy (version 1.1): the TCB baseline `azuredefault`, every enclave
/// permitted, and the claims of older tokens issued beside the `x-ms-sgx-*` ones.
pub const SGX: &str = r#"version= 1.1;
configurationrules
{
    => issueproperty(type="x-ms-sgx-tcbidentifier", value="azuredefault");
};
authorizationrules
{
    => permit();
};
issuancerules
{
    c:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value);
    c:[type=="x-ms-sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);
    c:[type=="x-ms-sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);
    c:[type=="x-ms-sgx-product-id"] => issue(type="product-id", value=c.value);
    c:[type=="x-ms-sgx-svn"] => issue(type="svn", value=c.value);
    c:[type=="x-ms-attestation-type"] => issue(type="tee", value=c.value);
};
"#;
