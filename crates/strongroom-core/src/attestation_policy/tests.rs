use super::*;

fn claims(pairs: &[(&str, ClaimValue)]) -> Vec<Claim> {
    pairs
        .iter()
        .map(|(t, v)| Claim::from_evidence(t, v.clone()))
        .collect()
}

fn s(v: &str) -> ClaimValue {
    ClaimValue::Str(v.to_owned())
}

fn run(policy: &str, evidence: &[(&str, ClaimValue)]) -> Outcome {
    Policy::parse(policy)
        .unwrap()
        .evaluate(claims(evidence))
        .unwrap()
}

fn issued(o: &Outcome) -> Vec<(String, ClaimValue)> {
    o.issued
        .iter()
        .map(|c| (c.claim_type.clone(), c.value.clone()))
        .collect()
}

#[test]
fn the_stored_example_permits_and_issues_nothing() {
    let text = "\r\nversion=1.0;\r\nauthorizationrules { => permit(); };\r\nissuancerules {};";
    let o = run(text, &[]);
    assert!(o.permitted);
    assert!(o.issued.is_empty());
    // An older spelling, and issuancerules left out.
    assert!(run("Version= 1.0; authorizationrules { => permit(); };", &[]).permitted);
}

#[test]
fn the_sgx_default_policy_maps_the_evidence_claims() {
    let o = run(
        defaults::SGX,
        &[
            ("x-ms-sgx-is-debuggable", ClaimValue::Bool(false)),
            ("x-ms-sgx-mrsigner", s("83d7")),
            ("x-ms-sgx-svn", ClaimValue::Int(1)),
            ("x-ms-attestation-type", s("sgx")),
        ],
    );
    assert!(o.permitted);
    assert_eq!(
        issued(&o),
        vec![
            ("is-debuggable".into(), ClaimValue::Bool(false)),
            ("sgx-mrsigner".into(), s("83d7")),
            ("svn".into(), ClaimValue::Int(1)),
            ("tee".into(), s("sgx")),
        ]
    );
    assert!(o.issued.iter().all(|c| c.issuer == ISSUER_POLICY));
    assert_eq!(o.properties.len(), 1);
    assert_eq!(o.properties[0].claim_type, "x-ms-sgx-tcbidentifier");
    assert_eq!(o.properties[0].value, s("azuredefault"));
}

#[test]
fn authorization_needs_a_permit_and_no_deny() {
    let policy = r#"version=1.0;
        authorizationrules {
            c:[type=="x-ms-sgx-is-debuggable", value==true] => deny();
            c:[type=="x-ms-sgx-mrsigner", value=="83d7", issuer=="AttestationService"] => permit();
        };
        issuancerules { => issue(type="ok", value=true); };"#;
    let good = [
        ("x-ms-sgx-is-debuggable", ClaimValue::Bool(false)),
        ("x-ms-sgx-mrsigner", s("83d7")),
    ];
    let o = run(policy, &good);
    assert!(o.permitted);
    assert_eq!(issued(&o), vec![("ok".into(), ClaimValue::Bool(true))]);
    let debuggable = [
        ("x-ms-sgx-is-debuggable", ClaimValue::Bool(true)),
        ("x-ms-sgx-mrsigner", s("83d7")),
    ];
    let o = run(policy, &debuggable);
    assert!(!o.permitted, "a deny wins");
    assert!(o.issued.is_empty(), "nothing is issued when refused");
    let other = [("x-ms-sgx-mrsigner", s("ffff"))];
    assert!(!run(policy, &other).permitted, "no rule permitted");
    // A claim from the client does not pass for one from the evidence.
    let mut custom = claims(&good);
    for c in &mut custom {
        c.issuer = ISSUER_CUSTOM.into();
    }
    let o = Policy::parse(policy).unwrap().evaluate(custom).unwrap();
    assert!(!o.permitted);
}

#[test]
fn conditions_join_bind_and_compare() {
    let policy = r#"version=1.0;
        authorizationrules {
            c1:[type=="a"] && c2:[type=="b", value==c1.value] => permit();
        };
        issuancerules {
            c:[type=="svn", value>=2] && [type=="svn", value<10] => issue(type="svn-ok", value=c.value);
            c:[type=="svn", value>2] => issue(type="above-two", value=true);
            c:[type=="svn", value!=3] => issue(type="not-three", value=true);
            c:[type=="svn", value<="3"] => issue(type="never", value=true);
        };"#;
    let o = run(
        policy,
        &[("a", s("x")), ("b", s("x")), ("svn", ClaimValue::Int(3))],
    );
    assert!(o.permitted);
    assert_eq!(
        issued(&o),
        vec![
            ("svn-ok".into(), ClaimValue::Int(3)),
            ("above-two".into(), ClaimValue::Bool(true)),
        ],
        "an integer is not compared with a string"
    );
    assert!(!run(policy, &[("a", s("x")), ("b", s("y"))]).permitted);
}

#[test]
fn a_rule_fires_for_every_matching_claim_and_added_claims_count_later() {
    let policy = r#"version=1.0;
        authorizationrules {
            c:[type=="x"] => add(type="y", value=c.value);
            c:[type=="y", value=="2"] => permit();
        };
        issuancerules {
            c:[type=="x"] => issue(claim=c);
            c:[type=="y"] => issue(type="copy", value=c.value);
        };"#;
    let o = run(policy, &[("x", s("1")), ("x", s("2"))]);
    assert!(o.permitted);
    assert_eq!(
        issued(&o),
        vec![
            ("x".into(), s("1")),
            ("x".into(), s("2")),
            ("copy".into(), s("1")),
            ("copy".into(), s("2")),
        ]
    );
    assert_eq!(
        o.issued[0].issuer, ISSUER_SERVICE,
        "a copy keeps its issuer"
    );
    assert_eq!(o.issued[2].issuer, ISSUER_POLICY);
}

#[test]
fn version_1_2_negation_functions_and_comments() {
    let policy = r#"version=1.2;
        // debuggable enclaves are refused by leaving out their permit
        authorizationrules {
            ![type=="x-ms-sgx-is-debuggable", value==true] => permit();
        };
        issuancerules {
            c:[type=="tee"] => issue(type="label", value=AppendString(c.value, "-vm"));
            c:[type=="flag"] => issue(type="flipped", value=NegateBool(c.value));
        };"#;
    let o = run(
        policy,
        &[("tee", s("sevsnp")), ("flag", ClaimValue::Bool(true))],
    );
    assert!(o.permitted);
    assert_eq!(
        issued(&o),
        vec![
            ("label".into(), s("sevsnp-vm")),
            ("flipped".into(), ClaimValue::Bool(false)),
        ]
    );
    assert!(
        !run(
            policy,
            &[("x-ms-sgx-is-debuggable", ClaimValue::Bool(true))]
        )
        .permitted
    );
}

#[test]
fn evaluation_errors_name_the_rule() {
    let unbound = "version=1.0;\nauthorizationrules { => permit(); };\nissuancerules {\n => issue(type=\"t\", value=c.value);\n};";
    let e = Policy::parse(unbound)
        .unwrap()
        .evaluate(Vec::new())
        .unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.message.contains("'c'"), "{e}");
    let unknown = "version=1.2; authorizationrules { => permit(); }; issuancerules { => issue(type=\"t\", value=JmesPath(\"{}\", \"a\")); };";
    let e = Policy::parse(unknown)
        .unwrap()
        .evaluate(Vec::new())
        .unwrap_err();
    assert!(e.message.contains("JmesPath"), "{e}");
}

#[test]
fn rules_cannot_multiply_claims_without_bound() {
    // Each rule adds a claim for each of 9,000: under the firing cap, over the total.
    let adding = "c:[type==\"x\"] => add(type=\"y\", value=c.value);\n".repeat(12);
    let policy = format!("version=1.0;\nauthorizationrules {{\n{adding} => permit();\n}};");
    let evidence: Vec<Claim> = (0..9_000)
        .map(|i| Claim::from_evidence("x", ClaimValue::Int(i)))
        .collect();
    let e = Policy::parse(&policy)
        .unwrap()
        .evaluate(evidence)
        .unwrap_err();
    assert!(e.message.contains("makes more than 100000 claims"), "{e}");
    // Every combination of claims counts as a firing.
    let wide = format!(
        "version=1.0; authorizationrules {{ {} => permit(); }};",
        ["[type==\"x\"]"; 8].join(" && ")
    );
    let many: Vec<(&str, ClaimValue)> = (0..4).map(|i| ("x", ClaimValue::Int(i))).collect();
    let e = Policy::parse(&wide)
        .unwrap()
        .evaluate(claims(&many))
        .unwrap_err();
    assert!(e.message.contains("fires more than"), "{e}");
}

#[test]
fn syntax_errors_give_line_and_column() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        ("authorizationrules { => permit(); };", (1, 1), "version"),
        (
            "version=2.0; authorizationrules {};",
            (1, 9),
            "1.0, 1.1 or 1.2",
        ),
        (
            "version=1.0;\nauthorizationrules {\n  c:[type=\"a\"] => permit();\n};",
            (3, 10),
            "'=='",
        ),
        (
            "version=1.0;\nauthorizationrules {\n  => permit()\n};",
            (4, 1),
            "';'",
        ),
        (
            "version=1.0;\nauthorizationrules { [kind==\"a\"] => permit(); };",
            (2, 23),
            "claim property",
        ),
        (
            "version=1.0;\nauthorizationrules { => allow(); };",
            (2, 25),
            "an action",
        ),
        (
            "version=1.0;\nconfigurationrules { };\nauthorizationrules { => permit(); };",
            (2, 1),
            "1.1",
        ),
        (
            "version=1.1;\nauthorizationrules { => permit(); };\nauthorizationrules { };",
            (3, 1),
            "twice",
        ),
        ("version=1.1;\nrules { };", (2, 1), "unknown section"),
        (
            "version=1.0;\nauthorizationrules { => permit();",
            (2, 34),
            "'}'",
        ),
        (
            "version=1.0;\nissuancerules { };",
            (2, 19),
            "authorizationrules",
        ),
        (
            "version=1.0; authorizationrules { => issue(type=\"t\"); };",
            (1, 52),
            "type= and value=",
        ),
    ];
    for (text, (line, column), words) in cases {
        let e = Policy::parse(text).unwrap_err();
        assert_eq!((e.line, e.column), (*line, *column), "{text}: {e}");
        assert!(e.message.contains(words), "{text}: {e}");
    }
}
