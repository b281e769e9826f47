//! Tokens of the attestation policy language, each with the line and column it starts at.

use super::PolicyError;

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A name: `version`, `issuancerules`, `c`, `type`, `permit`, `JmesPath`, ...
    Ident(String),
    /// A string literal, unescaped.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A version number such as `1.2` (kept as written).
    Number(String),
    /// Punctuation and operators.
    Sym(&'static str),
}

/// A token and where it starts (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    /// The token.
    pub tok: Tok,
    /// Line.
    pub line: usize,
    /// Column.
    pub col: usize,
}

/// Symbols, longest first so that `==` is not read as `=` `=`.
const SYMBOLS: &[&str] = &[
    "=>", "==", "!=", "<=", ">=", "&&", "=", "<", ">", "!", ";", ",", ":", ".", "[", "]", "{", "}",
    "(", ")",
];

/// Splits `text` into tokens; `//` comments run to the end of their line.
pub fn tokens(text: &str) -> Result<Vec<Spanned>, PolicyError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let at = |i: usize| chars.get(i).copied();
    while let Some(c) = at(i) {
        let (start_line, start_col) = (line, col);
        let advance = |n: usize, i: &mut usize, line: &mut usize, col: &mut usize| {
            for _ in 0..n {
                if at(*i) == Some('\n') {
                    *line += 1;
                    *col = 1;
                } else {
                    *col += 1;
                }
                *i += 1;
            }
        };
        if c.is_whitespace() || c == '\u{feff}' {
            advance(1, &mut i, &mut line, &mut col);
            continue;
        }
        if c == '/' && at(i + 1) == Some('/') {
            while at(i).is_some_and(|c| c != '\n') {
                advance(1, &mut i, &mut line, &mut col);
            }
            continue;
        }
        let tok = if c == '"' {
            let mut value = String::new();
            advance(1, &mut i, &mut line, &mut col);
            loop {
                match at(i) {
                    None => {
                        return Err(PolicyError::at(
                            start_line,
                            start_col,
                            "the string is not closed",
                        ));
                    }
                    Some('"') => {
                        advance(1, &mut i, &mut line, &mut col);
                        break;
                    }
                    Some('\\') => {
                        let escaped = match at(i + 1) {
                            Some('n') => '\n',
                            Some('t') => '\t',
                            Some('r') => '\r',
                            Some(other @ ('"' | '\\' | '/')) => other,
                            _ => {
                                return Err(PolicyError::at(
                                    line,
                                    col,
                                    "unknown escape in a string",
                                ));
                            }
                        };
                        value.push(escaped);
                        advance(2, &mut i, &mut line, &mut col);
                    }
                    Some(ch) => {
                        value.push(ch);
                        advance(1, &mut i, &mut line, &mut col);
                    }
                }
            }
            Tok::Str(value)
        } else if c.is_ascii_digit() || (c == '-' && at(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let mut text = String::new();
            while let Some(d) = at(i).filter(|d| {
                d.is_ascii_alphanumeric() || *d == '.' || (*d == '-' && text.is_empty())
            }) {
                text.push(d);
                advance(1, &mut i, &mut line, &mut col);
            }
            number(&text).ok_or_else(|| {
                PolicyError::at(start_line, start_col, format!("'{text}' is not a number"))
            })?
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let mut name = String::new();
            while let Some(d) =
                at(i).filter(|d| d.is_alphanumeric() || matches!(d, '_' | '-' | '$'))
            {
                name.push(d);
                advance(1, &mut i, &mut line, &mut col);
            }
            Tok::Ident(name)
        } else if let Some(sym) = SYMBOLS
            .iter()
            .find(|s| s.chars().enumerate().all(|(k, ch)| at(i + k) == Some(ch)))
        {
            advance(sym.len(), &mut i, &mut line, &mut col);
            Tok::Sym(sym)
        } else {
            return Err(PolicyError::at(
                start_line,
                start_col,
                format!("unexpected character '{c}'"),
            ));
        };
        out.push(Spanned {
            tok,
            line: start_line,
            col: start_col,
        });
    }
    Ok(out)
}

/// An integer (decimal or `0x` hex) or a dotted version number.
fn number(text: &str) -> Option<Tok> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok().map(Tok::Int);
    }
    if text.contains('.') {
        let valid = text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        return valid.then(|| Tok::Number(text.to_owned()));
    }
    text.parse().ok().map(Tok::Int)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokens(text).unwrap().into_iter().map(|s| s.tok).collect()
    }

    #[test]
    fn reads_symbols_literals_and_comments() {
        assert_eq!(
            toks("c:[type==\"a\\\"b\", value>=0x10] => permit(); // done\nx!=-3"),
            vec![
                Tok::Ident("c".into()),
                Tok::Sym(":"),
                Tok::Sym("["),
                Tok::Ident("type".into()),
                Tok::Sym("=="),
                Tok::Str("a\"b".into()),
                Tok::Sym(","),
                Tok::Ident("value".into()),
                Tok::Sym(">="),
                Tok::Int(16),
                Tok::Sym("]"),
                Tok::Sym("=>"),
                Tok::Ident("permit".into()),
                Tok::Sym("("),
                Tok::Sym(")"),
                Tok::Sym(";"),
                Tok::Ident("x".into()),
                Tok::Sym("!="),
                Tok::Int(-3),
            ]
        );
        assert_eq!(
            toks("version= 1.2;"),
            vec![
                Tok::Ident("version".into()),
                Tok::Sym("="),
                Tok::Number("1.2".into()),
                Tok::Sym(";")
            ]
        );
        assert_eq!(
            toks("$is-debuggable x-ms-sgx-mrsigner"),
            vec![
                Tok::Ident("$is-debuggable".into()),
                Tok::Ident("x-ms-sgx-mrsigner".into())
            ]
        );
    }

    #[test]
    fn reports_where_it_stopped() {
        let e = tokens("version=1.0;\n  \"open").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        let e = tokens("a\n b # c").unwrap_err();
        assert_eq!((e.line, e.column), (2, 4));
        assert!(e.message.contains('#'));
    }
}
