//! 3.8's `org.apache.zookeeper.server.auth.KerberosName` (Hadoop's, as
//! ZooKeeper copied it): a principal `service/host@REALM` split into its
//! parts, and its short name by the `zookeeper.security.auth_to_local`
//! rules.
//!
//! The rules are `DEFAULT` (a one- or two-component name in the default
//! realm gives its first component) and
//! `RULE:[n:format](match)s/from/to/g`: for names of `n` components,
//! `format` builds a string from `$0` (the realm) and `$1`, `$2` (the
//! components); if it matches `match` (whole), `from` is replaced by `to`
//! (once, or everywhere with `g`). The first rule that applies gives the
//! short name, which must not contain `/` or `@`. 3.8 holds the rules in
//! a static set from the system property; zk-rs keeps them in
//! [`AuthToLocalRules`], carried by the [`super::Login`].

use std::fmt;
use std::path::Path;

use regex::Regex;

use crate::system_properties::SystemProperties;

/// A principal's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosName {
    service_name: String,
    host_name: Option<String>,
    realm: Option<String>,
}

impl KerberosName {
    /// Splits `name` as `service[/host]@realm`; a name without `@` is all
    /// service name. `Err` for a name with `@` of another shape
    /// (`a/b/c@R`, `a@b@c`), as 3.8's "Malformed Kerberos name".
    pub fn new(name: &str) -> Result<KerberosName, String> {
        let Some((before, realm)) = name.split_once('@') else {
            return Ok(KerberosName {
                service_name: name.to_string(),
                host_name: None,
                realm: None,
            });
        };
        let (service, host) = match before.split_once('/') {
            Some((s, h)) => (s, Some(h)),
            None => (before, None),
        };
        if realm.contains(['/', '@']) || host.is_some_and(|h| h.contains('/')) {
            return Err(format!("Malformed Kerberos name: {name}"));
        }
        Ok(KerberosName {
            service_name: service.to_string(),
            host_name: host.map(str::to_string),
            realm: Some(realm.to_string()),
        })
    }

    /// The first component.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// The second component, if any.
    pub fn host_name(&self) -> Option<&str> {
        self.host_name.as_deref()
    }

    /// The realm, if any.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The short name by `rules`; `Err` as 3.8's `NoMatchingRule` or
    /// `BadFormatString`, naming the principal or rule.
    pub fn short_name(&self, rules: &AuthToLocalRules) -> Result<String, String> {
        let mut params = Vec::with_capacity(3);
        match (&self.realm, &self.host_name) {
            // Already simple.
            (None, None) => return Ok(self.service_name.clone()),
            (realm, None) => {
                params.push(realm.as_deref().unwrap_or(""));
                params.push(&self.service_name);
            }
            (realm, Some(host)) => {
                params.push(realm.as_deref().unwrap_or(""));
                params.push(&self.service_name);
                params.push(host);
            }
        }
        for rule in &rules.rules {
            if let Some(name) = rule.apply(&params, &rules.default_realm)? {
                return Ok(name);
            }
        }
        Err(format!("No rules applied to {self}"))
    }
}

impl fmt::Display for KerberosName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.service_name)?;
        if let Some(host) = &self.host_name {
            write!(f, "/{host}")?;
        }
        if let Some(realm) = &self.realm {
            write!(f, "@{realm}")?;
        }
        Ok(())
    }
}

/// The `zookeeper.security.auth_to_local` rules and the default realm
/// `DEFAULT` compares with.
#[derive(Debug, Clone)]
pub struct AuthToLocalRules {
    rules: Vec<Rule>,
    default_realm: String,
}

impl Default for AuthToLocalRules {
    /// `DEFAULT` alone, with no default realm (3.8 without krb5.conf).
    fn default() -> Self {
        AuthToLocalRules {
            rules: vec![Rule::Default],
            default_realm: String::new(),
        }
    }
}

/// One rule.
#[derive(Debug, Clone)]
enum Rule {
    Default,
    Rule {
        components: usize,
        format: String,
        matches: Option<Regex>,
        substitution: Option<(Regex, String, bool)>,
    },
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Default => f.write_str("DEFAULT"),
            Rule::Rule {
                components,
                format,
                matches,
                substitution,
            } => {
                write!(f, "RULE:[{components}:{format}]")?;
                if let Some(m) = matches {
                    write!(f, "({})", java_pattern(m))?;
                }
                if let Some((from, to, global)) = substitution {
                    write!(
                        f,
                        "s/{}/{to}/{}",
                        java_pattern(from),
                        if *global { "g" } else { "" }
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// The pattern as written, without the anchors [`AuthToLocalRules::parse`]
/// wraps a whole-string match in.
fn java_pattern(re: &Regex) -> &str {
    let s = re.as_str();
    s.strip_prefix("^(?:")
        .and_then(|s| s.strip_suffix(")$"))
        .unwrap_or(s)
}

impl AuthToLocalRules {
    /// The system property the rules come from.
    pub const PROPERTY: &'static str = "zookeeper.security.auth_to_local";

    /// Parses a rule list as 3.8's `parseRules`: rules one after another,
    /// whitespace between. `Err` names the rest that is not a rule, or a
    /// pattern the `regex` crate does not take.
    pub fn parse(text: &str) -> Result<AuthToLocalRules, String> {
        let parser = Regex::new(
            r"^\s*((DEFAULT)|(RULE:\[(\d*):([^\]]*)](\(([^)]*)\))?(s/([^/]*)/([^/]*)/(g)?)?))",
        )
        .expect("the rule grammar is a valid pattern");
        let mut rules = Vec::new();
        let mut remaining = text.trim();
        while !remaining.is_empty() {
            let Some(c) = parser.captures(remaining) else {
                return Err(format!("Invalid rule: {remaining}"));
            };
            if c.get(2).is_some() {
                rules.push(Rule::Default);
            } else {
                let components = c[4]
                    .parse::<usize>()
                    .map_err(|_| format!("Invalid rule: {remaining}: bad component count"))?;
                // The pattern as written names a bad one; `text` is what
                // is compiled (anchored for a whole-string match).
                let compile = |written: &str, text: &str| {
                    Regex::new(text)
                        .map_err(|e| format!("Invalid rule: {remaining}: pattern {written}: {e}"))
                };
                let matches = match c.get(7) {
                    Some(m) => Some(compile(m.as_str(), &format!("^(?:{})$", m.as_str()))?),
                    None => None,
                };
                let substitution = match c.get(9) {
                    Some(from) => Some((
                        compile(from.as_str(), from.as_str())?,
                        c[10].to_string(),
                        c.get(11).is_some(),
                    )),
                    None => None,
                };
                rules.push(Rule::Rule {
                    components,
                    format: c[5].to_string(),
                    matches,
                    substitution,
                });
            }
            remaining = &remaining[c.get(0).map_or(0, |m| m.end())..];
        }
        Ok(AuthToLocalRules {
            rules,
            default_realm: String::new(),
        })
    }

    /// The rules 3.8 runs with under `props`: those of
    /// `zookeeper.security.auth_to_local` (default `DEFAULT`) and the
    /// JDK's default realm ([`default_realm`]).
    pub fn from_system_properties(props: &SystemProperties) -> Result<AuthToLocalRules, String> {
        let text = props.get(Self::PROPERTY).unwrap_or("DEFAULT");
        let rules = Self::parse(text).map_err(|e| format!("{}: {e}", Self::PROPERTY))?;
        Ok(rules.with_default_realm(&default_realm(props)?))
    }

    /// The same rules with `realm` as the default realm (krb5.conf's
    /// `default_realm`, which `DEFAULT` compares names' realms with).
    pub fn with_default_realm(mut self, realm: &str) -> Self {
        self.default_realm = realm.to_string();
        self
    }

    /// The default realm.
    pub fn default_realm(&self) -> &str {
        &self.default_realm
    }
}

/// The JDK's default realm, as 3.8's `KerberosUtil.getDefaultRealm`
/// finds it: `java.security.krb5.realm`, else `default_realm` in the
/// `[libdefaults]` of the krb5.conf the JDK reads
/// (`java.security.krb5.conf`, else `/etc/krb5.conf`). None is the empty
/// realm, unless `zookeeper.requireKerberosConfig` is `true`: then `Err`,
/// as 3.8 then fails to start.
pub fn default_realm(props: &SystemProperties) -> Result<String, String> {
    if let Some(realm) = props.get("java.security.krb5.realm") {
        return Ok(realm.to_string());
    }
    let file = props
        .get("java.security.krb5.conf")
        .unwrap_or("/etc/krb5.conf");
    let found = std::fs::read_to_string(Path::new(file))
        .ok()
        .and_then(|text| krb5_conf_default_realm(&text));
    match found {
        Some(realm) => Ok(realm),
        None if props.get("zookeeper.requireKerberosConfig") == Some("true") => Err(format!(
            "Can't get Kerberos configuration: no default_realm in {file} \
             (zookeeper.requireKerberosConfig=true)"
        )),
        None => Ok(String::new()),
    }
}

/// `default_realm = X` in krb5.conf's `[libdefaults]`.
fn krb5_conf_default_realm(text: &str) -> Option<String> {
    let mut in_libdefaults = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            in_libdefaults = line.trim_end_matches('*') == "[libdefaults]";
            continue;
        }
        if !in_libdefaults {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "default_realm" && !value.trim().is_empty() {
                return Some(value.trim().to_string());
            }
        }
    }
    None
}

impl Rule {
    /// The short name if this rule applies to `params` (realm, then the
    /// components).
    fn apply(&self, params: &[&str], default_realm: &str) -> Result<Option<String>, String> {
        let result = match self {
            Rule::Default => (params[0] == default_realm).then(|| params[1].to_string()),
            Rule::Rule {
                components,
                format,
                matches,
                substitution,
            } => {
                if params.len() - 1 != *components {
                    return Ok(None);
                }
                let base = replace_parameters(format, params)?;
                if matches.as_ref().is_some_and(|m| !m.is_match(&base)) {
                    None
                } else if let Some((from, to, global)) = substitution {
                    Some(replace_substitution(&base, from, to, *global)?)
                } else {
                    Some(base)
                }
            }
        };
        match result {
            Some(name) if name.contains(['/', '@']) => Err(format!(
                "Non-simple name {name} after auth_to_local rule {self}"
            )),
            other => Ok(other),
        }
    }
}

/// `$n` in `format` replaced by `params[n]`.
fn replace_parameters(format: &str, params: &[&str]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = format;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n: usize = after[..digits]
            .parse()
            .map_err(|_| format!("bad format in username mapping in {format}"))?;
        let param = params.get(n).ok_or_else(|| {
            format!(
                "index {n} from {format} is outside of the valid range 0 to {}",
                params.len() - 1
            )
        })?;
        out.push_str(param);
        rest = &after[digits..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Java's `replaceFirst`/`replaceAll`: `to` may refer to groups as `$n`
/// (the longest prefix of digits naming a group) and escape with `\`.
fn replace_substitution(
    base: &str,
    from: &Regex,
    to: &str,
    global: bool,
) -> Result<String, String> {
    let mut out = String::new();
    let mut last = 0;
    for caps in from.captures_iter(base) {
        let whole = caps.get(0).expect("group 0 always matches");
        out.push_str(&base[last..whole.start()]);
        expand_java_replacement(&caps, to, &mut out)?;
        last = whole.end();
        if !global {
            break;
        }
    }
    out.push_str(&base[last..]);
    Ok(out)
}

fn expand_java_replacement(
    caps: &regex::Captures<'_>,
    to: &str,
    out: &mut String,
) -> Result<(), String> {
    let mut chars = to.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(
                chars
                    .next()
                    .ok_or_else(|| format!("character to be escaped is missing in {to}"))?,
            ),
            '$' => {
                let mut group = chars
                    .next()
                    .and_then(|d| d.to_digit(10))
                    .ok_or_else(|| format!("Illegal group reference in {to}"))?
                    as usize;
                if group >= caps.len() {
                    return Err(format!("No group {group} in {to}"));
                }
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    let longer = group * 10 + d as usize;
                    if longer >= caps.len() {
                        break;
                    }
                    group = longer;
                    chars.next();
                }
                out.push_str(caps.get(group).map_or("", |m| m.as_str()));
            }
            other => out.push(other),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "kerberos_name_tests.rs"]
mod tests;
