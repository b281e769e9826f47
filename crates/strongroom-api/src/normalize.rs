//! Case-insensitive property names on input, as ASP.NET (and so Azure) accepts them: object
//! keys that match a known member name in any case are rewritten to its canonical spelling
//! before deserialisation. Tag maps are user data and are left untouched.

use serde_json::Value;

/// Every member name of the request models, in canonical spelling.
const CANONICAL: &[&str] = &[
    "kty",
    "key_size",
    "public_exponent",
    "key_ops",
    "attributes",
    "tags",
    "crv",
    "release_policy",
    "key",
    "Hsm",
    "enabled",
    "nbf",
    "exp",
    "exportable",
    "alg",
    "value",
    "iv",
    "aad",
    "tag",
    "digest",
    "target",
    "nonce",
    "enc",
    "count",
    "lifetimeActions",
    "trigger",
    "action",
    "type",
    "timeAfterCreate",
    "timeBeforeExpiry",
    "expiryTime",
    "contentType",
    "data",
    "immutable",
    "kid",
    "n",
    "e",
    "d",
    "dp",
    "dq",
    "qi",
    "p",
    "q",
    "k",
    "x",
    "y",
    "key_hsm",
];

/// Rewrites object keys of `value` to their canonical spelling, recursively.
pub fn canonicalize(value: &mut Value) {
    let Value::Object(map) = value else {
        if let Value::Array(items) = value {
            items.iter_mut().for_each(canonicalize);
        }
        return;
    };
    let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
    for (key, mut member) in entries {
        let canonical = CANONICAL
            .iter()
            .find(|c| c.eq_ignore_ascii_case(&key))
            .map_or(key, |c| (*c).to_owned());
        if canonical != "tags" {
            canonicalize(&mut member);
        }
        map.insert(canonical, member);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_members_but_not_tags() {
        let mut v = json!({"hsm": true, "KEY": {"KTY": "RSA"}, "Tags": {"Owner": "x"}, "Other": 1});
        canonicalize(&mut v);
        assert_eq!(
            v,
            json!({"Hsm": true, "key": {"kty": "RSA"}, "tags": {"Owner": "x"}, "Other": 1})
        );
        let mut list = json!({"lifetimeactions": [{"Trigger": {"TIMEAFTERCREATE": "P1D"}}]});
        canonicalize(&mut list);
        assert_eq!(
            list["lifetimeActions"][0]["trigger"]["timeAfterCreate"],
            "P1D"
        );
    }
}
