//! Finding a value's place in JSON text (`package.json`, `package-lock.json`) so that an edit
//! replaces those bytes only and leaves the user's formatting alone: serde_json checks the text
//! and reads values, this module only answers "where is the string at this key path".
//!
//! The scanner trusts that serde_json has already accepted the text (so it is well-formed and at
//! most serde_json's recursion limit deep) and never panics if it has not: it simply finds
//! nothing.

use std::ops::Range;

/// The byte range of the contents (inside the quotes, as written) of the string at `path` (object
/// keys from the top), or `None` when there is no string there. With repeated keys the last one
/// wins, as serde_json reads it.
pub(crate) fn string_span(text: &str, path: &[&str]) -> Option<Range<usize>> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        at: 0,
        found: None,
    };
    scanner.value(Some(path), 0);
    scanner.found
}

/// Every key of the object at `path` with the byte range of its value (strings without their
/// quotes), in text order; empty when `path` holds no object.
pub(crate) fn object_entries(text: &str, path: &[&str]) -> Vec<(String, Range<usize>, bool)> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        at: 0,
        found: None,
    };
    let mut entries = Vec::new();
    scanner.entries(path, &mut entries, 0);
    entries
}

/// serde_json's own nesting limit; deeper text never reaches the scanner.
const MAX_DEPTH: usize = 256;

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    found: Option<Range<usize>>,
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// A string starting at the current `"`: the range of its contents.
    fn string(&mut self) -> Option<Range<usize>> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.at += 1;
        let start = self.at;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => self.at += 2,
                b'"' => {
                    let range = start..self.at;
                    self.at += 1;
                    return Some(range);
                }
                _ => self.at += 1,
            }
        }
        None
    }

    /// The decoded text of a key whose contents are at `range`.
    fn decode(&self, range: Range<usize>) -> Option<String> {
        let quoted = self.bytes.get(range.start.checked_sub(1)?..range.end + 1)?;
        serde_json::from_slice(quoted).ok()
    }

    /// Skips (or, when `path` is given, searches) one value.
    fn value(&mut self, path: Option<&[&str]>, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match self.peek()? {
            b'{' => self.members(|this, key| {
                let matching = path.and_then(|path| {
                    let (first, rest) = path.split_first()?;
                    (this.decode(key)?.as_str() == *first).then_some(rest)
                });
                match matching {
                    Some([]) => {
                        if this.peek()? == b'"' {
                            this.found = Some(this.string()?);
                        } else {
                            this.found = None;
                            this.value(None, depth + 1)?;
                        }
                    }
                    Some(rest) => {
                        // A repeated key replaces what an earlier one held.
                        this.found = None;
                        this.value(Some(rest), depth + 1)?;
                    }
                    None => this.value(None, depth + 1)?,
                }
                Some(())
            }),
            b'[' => {
                self.at += 1;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        b',' => self.at += 1,
                        _ => self.value(None, depth + 1)?,
                    }
                }
            }
            b'"' => self.string().map(|_| ()),
            _ => {
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.at += 1;
                }
                Some(())
            }
        }
    }

    /// Collects the entries of the object at `path`.
    fn entries(
        &mut self,
        path: &[&str],
        out: &mut Vec<(String, Range<usize>, bool)>,
        depth: usize,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        if self.peek()? != b'{' {
            return self.value(None, depth);
        }
        self.members(|this, key_range| {
            let key = this.decode(key_range)?;
            match path.split_first() {
                Some((first, rest)) if *first == key => {
                    out.clear();
                    this.entries(rest, out, depth + 1)?;
                }
                Some(_) => this.value(None, depth + 1)?,
                None => {
                    let is_string = this.peek()? == b'"';
                    let start = this.at;
                    let range = if is_string {
                        this.string()?
                    } else {
                        this.value(None, depth + 1)?;
                        start..this.at
                    };
                    out.retain(|(seen, _, _)| *seen != key);
                    out.push((key, range, is_string));
                }
            }
            Some(())
        })
    }

    /// Walks the object starting at the current `{` to its `}`, calling `member` with each
    /// key's raw range once the scanner stands on that key's value; `member` must consume the
    /// value.
    fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, Range<usize>) -> Option<()>,
    ) -> Option<()> {
        self.at += 1;
        loop {
            self.skip_ws();
            match self.peek()? {
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                b',' => self.at += 1,
                _ => {
                    let key = self.string()?;
                    self.skip_ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.at += 1;
                    self.skip_ws();
                    member(self, key)?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"{
  "name": "wa",
  "version" : "0.1.0",
  "nested": {"version": "9.9.9", "list": [1, {"version": "x"}, "s\"}"]},
  "dependencies": {
    "wb": "^0.1.0",
    "w\u0063": "~1.0.0",
    "wd": {"odd": true}
  },
  "packages": {"": {"version": "0.1.0"}, "node_modules/wa": {"version": "0.0.1"}}
}"#;

    fn at<'a>(text: &'a str, path: &[&str]) -> Option<&'a str> {
        string_span(text, path).map(|range| &text[range])
    }

    #[test]
    fn finds_strings_by_key_path() {
        assert_eq!(at(TEXT, &["version"]), Some("0.1.0"));
        assert_eq!(at(TEXT, &["nested", "version"]), Some("9.9.9"));
        assert_eq!(at(TEXT, &["dependencies", "wc"]), Some("~1.0.0"));
        assert_eq!(at(TEXT, &["packages", "", "version"]), Some("0.1.0"));
        assert_eq!(
            at(TEXT, &["packages", "node_modules/wa", "version"]),
            Some("0.0.1")
        );
        assert_eq!(at(TEXT, &["dependencies", "wd"]), None);
        assert_eq!(at(TEXT, &["missing"]), None);
    }

    #[test]
    fn the_last_repeated_key_wins() {
        assert_eq!(at(r#"{"v": "1", "v": "2"}"#, &["v"]), Some("2"));
        assert_eq!(at(r#"{"v": "1", "v": 2}"#, &["v"]), None);
    }

    #[test]
    fn lists_an_objects_entries() {
        let entries = object_entries(TEXT, &["dependencies"]);
        let shown: Vec<(&str, &str, bool)> = entries
            .iter()
            .map(|(key, range, string)| (key.as_str(), &TEXT[range.clone()], *string))
            .collect();
        assert_eq!(
            shown,
            [
                ("wb", "^0.1.0", true),
                ("wc", "~1.0.0", true),
                ("wd", "{\"odd\": true}", false)
            ]
        );
        assert!(object_entries(TEXT, &["name"]).is_empty());
    }

    #[test]
    fn broken_text_finds_nothing() {
        for text in [
            "",
            "{",
            "{\"a\"",
            "{\"a\":",
            "[",
            "\"",
            "{\"a\": \"b",
            "{\"a\\",
        ] {
            assert_eq!(at(text, &["a"]), None, "{text}");
            let _ = object_entries(text, &["a"]);
        }
    }
}
