//! A reader of JAAS login configuration files as the JDK's `ConfigFile`
//! reads them: which sections (`Name { Module flag key=value; ... };`) a
//! file has and the login modules each lists (class, control flag,
//! options: [`AppConfigurationEntry`]), or why the JDK would refuse the
//! file.
//!
//! 3.8's `ServerCnxnFactory.configureSaslLogin` asks the JAAS
//! configuration for its `Server` section (`zookeeper.sasl.serverconfig`
//! names another): a section with login modules turns on SASL for
//! clients; none (no such section, or an empty one) means no SASL; a file
//! that is missing or does not parse stops startup. zk-rs serves no SASL,
//! so it must tell these apart exactly where they decide whether SASL is
//! on. The entries' options are what the SASL login ([`crate::sasl::Login`])
//! reads: DigestLoginModule's `username`/`password` and `user_NAME`
//! passwords, Krb5LoginModule's `principal` and `keyTab`. The tokens follow `java.io.StreamTokenizer` as `ConfigFile` sets it
//! up: `//` and `/* */` comments (a lone `/` comments out the rest of the
//! line), `"` and `'` strings, words of letters, digits, `.`, `$`, `_`,
//! `-`, `*`, numbers. Option values are not `${...}`-expanded: expansion
//! changes no section name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// `javax.security.auth.login.AppConfigurationEntry.LoginModuleControlFlag`:
/// how a login module's failure counts (written in any case in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginModuleControlFlag {
    /// Must succeed; the later modules run anyway.
    Required,
    /// Must succeed; a failure stops the login there.
    Requisite,
    /// Not required; its success ends the login.
    Sufficient,
    /// Not required.
    Optional,
}

impl LoginModuleControlFlag {
    /// The flag a file's word names, in any case; `None` for another word.
    pub fn parse(word: &str) -> Option<Self> {
        [
            ("required", Self::Required),
            ("requisite", Self::Requisite),
            ("sufficient", Self::Sufficient),
            ("optional", Self::Optional),
        ]
        .into_iter()
        .find(|(name, _)| word.eq_ignore_ascii_case(name))
        .map(|(_, flag)| flag)
    }
}

impl fmt::Display for LoginModuleControlFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Required => "required",
            Self::Requisite => "requisite",
            Self::Sufficient => "sufficient",
            Self::Optional => "optional",
        })
    }
}

/// `javax.security.auth.login.AppConfigurationEntry`: one login module
/// line of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfigurationEntry {
    /// The module's class, e.g.
    /// `org.apache.zookeeper.server.auth.DigestLoginModule`.
    pub login_module_name: String,
    /// Its control flag.
    pub control_flag: LoginModuleControlFlag,
    /// Its `key=value` options; a key given twice keeps the last value, as
    /// the JDK's `HashMap` does.
    pub options: BTreeMap<String, String>,
}

/// The sections of one JAAS file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JaasConfiguration {
    /// (section name, its login modules). A section whose name is not a
    /// word or a quoted string (the JDK takes it, as a null name) has
    /// `None`.
    sections: Vec<(Option<String>, Vec<AppConfigurationEntry>)>,
}

impl JaasConfiguration {
    /// Reads and parses `path`; `Err` says why the JDK would refuse it.
    pub fn read(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
        // The JDK decodes as UTF-8, replacing what is not.
        Self::parse(&String::from_utf8_lossy(&bytes))
    }

    /// Parses a file's text; `Err` names the line and what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser {
            tokens: Tokenizer::new(text),
            lookahead: Token::Eof,
        };
        parser.advance();
        let mut config = JaasConfiguration::default();
        while parser.lookahead != Token::Eof {
            let (name, modules) = parser.section()?;
            if config.sections.iter().any(|(n, _)| *n == name) {
                return Err(format!(
                    "line {}: a second section named '{}'",
                    parser.tokens.line,
                    name.as_deref().unwrap_or("")
                ));
            }
            config.sections.push((name, modules));
        }
        Ok(config)
    }

    /// The names of the sections, in file order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().filter_map(|(n, _)| n.as_deref())
    }

    /// The number of login modules in section `name`; `None` without
    /// such a section.
    pub fn login_modules(&self, name: &str) -> Option<usize> {
        self.app_configuration_entry(name).map(<[_]>::len)
    }

    /// The login modules of section `name`, in file order; `None` without
    /// such a section (an empty section gives an empty slice, where the JDK
    /// gives null: [`JaasConfiguration::has_entries`] tells that apart).
    pub fn app_configuration_entry(&self, name: &str) -> Option<&[AppConfigurationEntry]> {
        self.sections
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name))
            .map(|(_, entries)| entries.as_slice())
    }

    /// Whether section `name` has login modules: what the JDK's
    /// `getAppConfigurationEntry(name) != null` means, and so what turns
    /// on SASL in 3.8.
    pub fn has_entries(&self, name: &str) -> bool {
        self.login_modules(name).is_some_and(|count| count > 0)
    }
}

/// One `StreamTokenizer` token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Eof,
    Word(String),
    /// A string in `"` or `'` quotes, and which.
    Quoted(char, String),
    Number,
    Char(char),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Eof => "end of file".to_string(),
            Token::Word(w) => format!("'{w}'"),
            Token::Quoted(q, s) => format!("{q}{s}{q}"),
            Token::Number => "a number".to_string(),
            Token::Char(c) => format!("'{c}'"),
        }
    }
}

/// `ConfigFile.parseLoginEntry`, over [`Tokenizer`].
struct Parser<'a> {
    tokens: Tokenizer<'a>,
    lookahead: Token,
}

impl Parser<'_> {
    fn advance(&mut self) {
        self.lookahead = self.tokens.next_token();
    }

    fn error(&self, expected: &str) -> String {
        format!(
            "line {}: expected {expected}, found {}",
            self.tokens.line,
            self.lookahead.describe()
        )
    }

    /// A module class, flag, option key or value: a word or a `"` string.
    fn value(&mut self, expected: &str) -> Result<String, String> {
        match &self.lookahead {
            Token::Word(s) | Token::Quoted('"', s) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.error(expected)),
        }
    }

    fn punct(&mut self, c: char) -> Result<(), String> {
        if self.lookahead == Token::Char(c) {
            self.advance();
            Ok(())
        } else {
            Err(self.error(&format!("'{c}'")))
        }
    }

    /// `Name { Module flag [key=value]... ; ... };`: the name and the
    /// modules.
    fn section(&mut self) -> Result<(Option<String>, Vec<AppConfigurationEntry>), String> {
        let name = match &self.lookahead {
            Token::Word(s) | Token::Quoted(_, s) => Some(s.clone()),
            _ => None,
        };
        self.advance();
        self.punct('{')?;
        let mut modules = Vec::new();
        while self.lookahead != Token::Char('}') {
            let login_module_name = self.value("a login module class name")?;
            let flag = self.value("a control flag")?;
            let Some(control_flag) = LoginModuleControlFlag::parse(&flag) else {
                return Err(format!(
                    "line {}: invalid control flag '{flag}'",
                    self.tokens.line
                ));
            };
            let mut options = BTreeMap::new();
            while self.lookahead != Token::Char(';') {
                let key = self.value("an option name")?;
                self.punct('=')?;
                options.insert(key, self.value("an option value")?);
            }
            self.advance();
            modules.push(AppConfigurationEntry {
                login_module_name,
                control_flag,
                options,
            });
        }
        self.punct('}')?;
        self.punct(';')?;
        Ok((name, modules))
    }
}

/// `java.io.StreamTokenizer` with `ConfigFile`'s settings.
struct Tokenizer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

impl<'a> Tokenizer<'a> {
    fn new(text: &'a str) -> Self {
        Tokenizer {
            chars: text.chars().peekable(),
            line: 1,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next();
        if c == Some('\n') {
            self.line += 1;
        }
        c
    }

    fn is_word_start(c: char) -> bool {
        c.is_ascii_alphabetic()
            || matches!(c, '$' | '_' | '*')
            || ('\u{a0}'..='\u{ff}').contains(&c)
            || u32::from(c) > 0xff
    }

    fn is_number_char(c: char) -> bool {
        c.is_ascii_digit() || c == '.' || c == '-'
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.chars.peek() {
            if *c == '\n' || *c == '\r' {
                break;
            }
            self.bump();
        }
    }

    /// Skips `/* ... */` (the opening already read); an unterminated one
    /// runs to the end of the file, as in the JDK.
    fn skip_block_comment(&mut self) {
        let mut star = false;
        while let Some(c) = self.bump() {
            if star && c == '/' {
                return;
            }
            star = c == '*';
        }
    }

    fn next_token(&mut self) -> Token {
        loop {
            let Some(c) = self.bump() else {
                return Token::Eof;
            };
            if c <= ' ' {
                continue;
            }
            if c == '/' {
                match self.chars.peek() {
                    Some('*') => {
                        self.bump();
                        self.skip_block_comment();
                    }
                    // `//`, and a lone `/` (a comment character too).
                    _ => self.skip_line(),
                }
                continue;
            }
            if Self::is_number_char(c) {
                if c == '-'
                    && !self
                        .chars
                        .peek()
                        .is_some_and(|n| n.is_ascii_digit() || *n == '.')
                {
                    return Token::Char('-');
                }
                self.number_tail();
                return Token::Number;
            }
            if Self::is_word_start(c) {
                return Token::Word(self.word(c));
            }
            if c == '"' || c == '\'' {
                return Token::Quoted(c, self.quoted(c));
            }
            return Token::Char(c);
        }
    }

    /// The digits and one `.` of a number after its first character.
    fn number_tail(&mut self) {
        let mut dot = false;
        while let Some(&n) = self.chars.peek() {
            if n.is_ascii_digit() || (n == '.' && !dot) {
                dot |= n == '.';
                self.bump();
            } else {
                break;
            }
        }
    }

    fn word(&mut self, first: char) -> String {
        let mut word = String::from(first);
        while let Some(&n) = self.chars.peek() {
            if Self::is_word_start(n) || Self::is_number_char(n) {
                word.push(n);
                self.bump();
            } else {
                break;
            }
        }
        word
    }

    /// A quoted string: it ends at its quote or at the end of the line;
    /// `\` escapes the next character (`\n`, `\t`, ... as in Java).
    fn quoted(&mut self, quote: char) -> String {
        let mut s = String::new();
        while let Some(&c) = self.chars.peek() {
            if c == '\n' || c == '\r' {
                break;
            }
            self.bump();
            if c == quote {
                break;
            }
            if c != '\\' {
                s.push(c);
                continue;
            }
            match self.bump() {
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some('r') => s.push('\r'),
                Some('b') => s.push('\u{8}'),
                Some('f') => s.push('\u{c}'),
                Some('a') => s.push('\u{7}'),
                Some('v') => s.push('\u{b}'),
                Some(other) => s.push(other),
                None => break,
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        JaasConfiguration::parse(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .section_names()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn empty_and_comment_only_files_have_no_sections() {
        assert!(names("").is_empty());
        assert!(names("  \n\t\r\n").is_empty());
        assert!(names("// nothing\n/* still\n nothing */\n/ a lone slash too\n").is_empty());
        assert!(names("// a\n/* b */ / c { d\n/* unterminated").is_empty());
    }

    #[test]
    fn sections_modules_and_options() {
        let text = r#"
            /* kazoo-style client section */
            Client {
              org.apache.zookeeper.server.auth.DigestLoginModule required
              username="bob"
              password="s\"ecret";
            };
            Server {
              com.sun.security.auth.module.Krb5LoginModule REQUIRED useKeyTab=true
                keyTab="/etc/zk.keytab" principal="zookeeper/host@EXAMPLE.COM";
              other.Module optional;
            };
            "Quoted Name" { };
        "#;
        let c = JaasConfiguration::parse(text).unwrap();
        assert_eq!(
            c.section_names().collect::<Vec<_>>(),
            ["Client", "Server", "Quoted Name"]
        );
        assert_eq!(c.login_modules("Client"), Some(1));
        assert_eq!(c.login_modules("Server"), Some(2));
        assert!(c.has_entries("Server"));
        assert!(
            !c.has_entries("Quoted Name"),
            "an empty section has no entries"
        );
        assert!(!c.has_entries("server"), "names are case-sensitive");
        assert_eq!(c.login_modules("QuorumServer"), None);
        assert!(c.app_configuration_entry("QuorumServer").is_none());
        let client = c.app_configuration_entry("Client").unwrap();
        assert_eq!(
            client[0].login_module_name,
            "org.apache.zookeeper.server.auth.DigestLoginModule"
        );
        assert_eq!(client[0].control_flag, LoginModuleControlFlag::Required);
        assert_eq!(
            client[0].options,
            BTreeMap::from([
                ("username".to_string(), "bob".to_string()),
                ("password".to_string(), "s\"ecret".to_string()),
            ])
        );
        let server = c.app_configuration_entry("Server").unwrap();
        assert_eq!(server[0].control_flag, LoginModuleControlFlag::Required);
        assert_eq!(server[0].options["useKeyTab"], "true");
        assert_eq!(server[0].options["principal"], "zookeeper/host@EXAMPLE.COM");
        assert_eq!(server[1].login_module_name, "other.Module");
        assert_eq!(server[1].control_flag, LoginModuleControlFlag::Optional);
        assert!(server[1].options.is_empty());
        assert_eq!(c.app_configuration_entry("Quoted Name"), Some(&[][..]));
    }

    #[test]
    fn control_flags_and_repeated_options() {
        let c = JaasConfiguration::parse(
            "S { a.A Requisite k=one k=\"two\"; b.B SUFFICIENT; c.C optional; d.D required; };",
        )
        .unwrap();
        let flags: Vec<_> = c
            .app_configuration_entry("S")
            .unwrap()
            .iter()
            .map(|e| e.control_flag.to_string())
            .collect();
        assert_eq!(flags, ["requisite", "sufficient", "optional", "required"]);
        assert_eq!(
            c.app_configuration_entry("S").unwrap()[0].options["k"],
            "two",
            "the last value of a repeated key wins"
        );
        assert_eq!(LoginModuleControlFlag::parse("mandatory"), None);
    }

    #[test]
    fn what_the_jdk_refuses_is_refused() {
        for (text, why) in [
            ("Server {", "end of file"),
            ("Server { a.B required };", "'}'"),
            (
                "Server { a.B mandatory; };",
                "invalid control flag 'mandatory'",
            ),
            ("Server { a.B required k=; };", "an option value"),
            ("Server { a.B required k v; };", "'='"),
            (
                "Server { a.B required; }",
                "expected ';', found end of file",
            ),
            ("Server { 'a.B' required; };", "a login module class name"),
            ("A { };\nA { };", "line 2: a second section named 'A'"),
            ("Server = x;", "expected '{'"),
            ("{ };", "expected '{', found '}'"),
        ] {
            let e = JaasConfiguration::parse(text).expect_err(text);
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn comments_and_quotes_hide_what_they_contain() {
        let c = JaasConfiguration::parse(
            "// Server { a.B required; };\n/* Server { a.B required; }; */\n\
             Client { a.B required note=\"Server { x.Y required; };\"; };",
        )
        .unwrap();
        assert_eq!(c.section_names().collect::<Vec<_>>(), ["Client"]);
        assert!(!c.has_entries("Server"));
    }

    #[test]
    fn a_missing_file_cannot_be_read() {
        let e = JaasConfiguration::read(Path::new("/nonexistent/zk-rs/jaas.conf")).unwrap_err();
        assert!(e.starts_with("cannot be read: "), "{e}");
    }
}
