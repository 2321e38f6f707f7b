//! The slice of Apache commons-cli's `DefaultParser` and `HelpFormatter`
//! that ZooKeeper's tools use, so that `zk-bin`'s tools take the same
//! command lines and say the same things about bad ones: `-x`, bundled
//! `-xy`, `-zVALUE`, `-z VALUE`, `--long VALUE`, `--long=VALUE`, a unique
//! prefix of a long name, `--` ending the options, and commons-cli's
//! messages (`Unrecognized option: -q`, `Missing argument for option: z`,
//! `Missing required options: l, r`).

use std::collections::BTreeMap;

/// One option a tool accepts.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub short: char,
    pub long: &'static str,
    /// The value's name in the help text, for an option that takes one.
    pub arg_name: Option<&'static str>,
    pub required: bool,
    pub description: &'static str,
}

impl OptionSpec {
    pub const fn flag(short: char, long: &'static str, description: &'static str) -> Self {
        OptionSpec {
            short,
            long,
            arg_name: None,
            required: false,
            description,
        }
    }

    pub const fn with_arg(
        short: char,
        long: &'static str,
        arg_name: &'static str,
        required: bool,
        description: &'static str,
    ) -> Self {
        OptionSpec {
            short,
            long,
            arg_name: Some(arg_name),
            required,
            description,
        }
    }
}

/// What a command line said: the options seen (by short name, with their
/// last value) and the other arguments in order.
#[derive(Debug, Default)]
pub struct CommandLine {
    options: BTreeMap<char, Option<String>>,
    pub args: Vec<String>,
}

impl CommandLine {
    pub fn has(&self, short: char) -> bool {
        self.options.contains_key(&short)
    }

    pub fn value(&self, short: char) -> Option<&str> {
        self.options.get(&short).and_then(|v| v.as_deref())
    }
}

/// Parses `args` against `specs`; the error is commons-cli's message.
pub fn parse(specs: &[OptionSpec], args: &[String]) -> Result<CommandLine, String> {
    let mut line = CommandLine::default();
    let mut tokens = args.iter();
    while let Some(token) = tokens.next() {
        if token == "--" {
            line.args.extend(tokens.by_ref().cloned());
            break;
        }
        let (spec, inline) = if let Some(long) = token.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            (find_long(specs, name, token)?, inline)
        } else if token.len() > 1 && token.starts_with('-') && !is_number(token) {
            match parse_short(specs, &token[1..], token, &mut line)? {
                Some(found) => found,
                None => continue,
            }
        } else {
            line.args.push(token.clone());
            continue;
        };
        let value = if spec.arg_name.is_none() {
            None
        } else if let Some(v) = inline {
            Some(v)
        } else {
            // A value may itself look like a negative number, never like
            // another option.
            match tokens.as_slice().first() {
                Some(next) if !next.starts_with('-') || is_number(next) => tokens.next().cloned(),
                _ => return Err(format!("Missing argument for option: {}", spec.short)),
            }
        };
        line.options.insert(spec.short, value);
    }
    let missing: Vec<String> = specs
        .iter()
        .filter(|s| s.required && !line.has(s.short))
        .map(|s| s.short.to_string())
        .collect();
    match missing.len() {
        0 => Ok(line),
        1 => Err(format!("Missing required option: {}", missing[0])),
        _ => Err(format!("Missing required options: {}", missing.join(", "))),
    }
}

/// `-x`, `-xy` (flags bundled), `-zVALUE`, or a long name after one dash.
/// Returns the option still waiting for its value (if any), with the value
/// found inside the token; `None` when every option in it was recorded.
fn parse_short<'a>(
    specs: &'a [OptionSpec],
    body: &str,
    token: &str,
    line: &mut CommandLine,
) -> Result<Option<(&'a OptionSpec, Option<String>)>, String> {
    if let Some(spec) = specs.iter().find(|s| s.long == body) {
        return Ok(Some((spec, None)));
    }
    let unknown = || format!("Unrecognized option: {token}");
    for (i, c) in body.char_indices() {
        let spec = specs.iter().find(|s| s.short == c).ok_or_else(unknown)?;
        if spec.arg_name.is_some() {
            let rest = &body[i + c.len_utf8()..];
            let inline = (!rest.is_empty()).then(|| rest.to_string());
            return Ok(Some((spec, inline)));
        }
        line.options.insert(spec.short, None);
    }
    Ok(None)
}

fn find_long<'a>(
    specs: &'a [OptionSpec],
    name: &str,
    token: &str,
) -> Result<&'a OptionSpec, String> {
    if let Some(spec) = specs.iter().find(|s| s.long == name) {
        return Ok(spec);
    }
    let matches: Vec<&OptionSpec> = specs
        .iter()
        .filter(|s| !name.is_empty() && s.long.starts_with(name))
        .collect();
    match matches[..] {
        [spec] => Ok(spec),
        [] => Err(format!("Unrecognized option: {token}")),
        _ => Err(format!(
            "Ambiguous option: '{name}'  (could be: {})",
            matches
                .iter()
                .map(|s| format!("'{}'", s.long))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// commons-cli takes `-5` for an argument rather than an option.
fn is_number(token: &str) -> bool {
    token.parse::<f64>().is_ok()
}

/// `HelpFormatter.printHelp(120, syntax, "", options, "")`: the usage line,
/// then one line per option sorted by name, descriptions in one column.
pub fn help(syntax: &str, specs: &[OptionSpec]) -> String {
    let mut sorted: Vec<&OptionSpec> = specs.iter().collect();
    sorted.sort_by_key(|s| s.short.to_ascii_lowercase());
    let lefts: Vec<String> = sorted
        .iter()
        .map(|s| match s.arg_name {
            Some(arg) => format!(" -{},--{} <{arg}>", s.short, s.long),
            None => format!(" -{},--{}", s.short, s.long),
        })
        .collect();
    let width = lefts.iter().map(String::len).max().unwrap_or(0) + 3;
    let mut out = format!("usage: {syntax}\n");
    for (left, spec) in lefts.iter().zip(&sorted) {
        out.push_str(&format!("{left:<width$}{}\n", spec.description));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[OptionSpec] = &[
        OptionSpec::flag('r', "recover", "Recover."),
        OptionSpec::flag('y', "yes", "Yes."),
        OptionSpec::with_arg('z', "zxid", "arg", false, "Zxid."),
        OptionSpec::with_arg('l', "left", "LEFT", true, "Left."),
    ];

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn short_long_bundled_and_inline_values() {
        let line = parse(SPECS, &args("-ry FILE -z0x5 --left=a")).unwrap();
        assert!(line.has('r') && line.has('y'));
        assert_eq!(line.value('z'), Some("0x5"));
        assert_eq!(line.value('l'), Some("a"));
        assert_eq!(line.args, ["FILE"]);
        let line = parse(SPECS, &args("--rec --zx -1 -l b -- -y")).unwrap();
        assert!(line.has('r') && !line.has('y'));
        assert_eq!(line.value('z'), Some("-1"));
        assert_eq!(line.args, ["-y"]);
    }

    #[test]
    fn errors_are_commons_cli_messages() {
        assert_eq!(
            parse(SPECS, &args("-q -l x")).unwrap_err(),
            "Unrecognized option: -q"
        );
        assert_eq!(
            parse(SPECS, &args("-l x -z")).unwrap_err(),
            "Missing argument for option: z"
        );
        assert_eq!(
            parse(SPECS, &args("F")).unwrap_err(),
            "Missing required option: l"
        );
        assert_eq!(
            parse(SPECS, &args("--bogus")).unwrap_err(),
            "Unrecognized option: --bogus"
        );
    }

    #[test]
    fn help_lines_up_descriptions() {
        assert_eq!(
            help("tool", &SPECS[1..3]),
            "usage: tool\n -y,--yes          Yes.\n -z,--zxid <arg>   Zxid.\n"
        );
    }
}
