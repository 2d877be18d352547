//! Rule packs: the TOML syntax users write ([`RuleSpec`]) apart from the compiled form the
//! matcher runs ([`Rule`]). Compiling validates everything once, so a bad pack fails before
//! any scanning starts, with the file and rule id in the message.

use crate::error::{Error, Result};
use compile::{compile_spec_as, parse_pack_as};
use syntax::PackSpec;

pub mod catalogue;
pub mod checks;
mod compile;
pub mod named;
mod syntax;

pub use checks::structure::{Structure, StructureSpec};
pub(crate) use compile::parse_regex;
pub use compile::{
    compile_regex, compile_rule_regex, compile_spec, parse_pack, LazyRegex, Rule, RuleRegex, Trust,
};
pub use named::{NamedKey, NamedSpec};
pub use syntax::{Category, RuleSpec, Severity};

/// A built-in pack: its path as messages name it, its text, and the compact JSON form without
/// examples that build.rs makes of it (what a scan loads).
macro_rules! pack {
    ($name:literal) => {
        (
            concat!("rules/", $name, ".toml"),
            include_str!(concat!("../../rules/", $name, ".toml")),
            include_str!(concat!(env!("OUT_DIR"), "/", $name, ".json")),
        )
    };
}

/// The packs compiled into the binary, so a copied binary is self-contained. One pack per
/// domain; a test checks that every file in rules/ is listed here.
pub const BUILTIN_PACKS: &[(&str, &str, &str)] = &[
    pack!("keys"),
    pack!("generic"),
    pack!("connection"),
    pack!("network"),
    pack!("ai"),
    pack!("cloud"),
    pack!("devtools"),
    pack!("messaging"),
    pack!("ops"),
    pack!("payments"),
    pack!("saas"),
    pack!("data"),
];

/// How far a multi-line rule may reach past the line its keyword is on.
pub const MULTILINE_WINDOW: usize = 64 * 1024;

/// Loads the built-in packs (without their examples), refusing duplicate ids. The user's packs
/// are read by `config::load_rules`, which knows where files come from.
pub fn load() -> Result<Vec<Rule>> {
    use rayon::prelude::*;
    // The packs are read on all cores: this is most of what every scan pays before it reads
    // a byte, and it runs before anything else could use them.
    let packs: Vec<Vec<Rule>> = BUILTIN_PACKS
        .par_iter()
        .map(|(file, text, json)| {
            let pack: PackSpec = match serde_json::from_str(json) {
                Ok(pack) => pack,
                // Only a pack build.rs could not parse: the TOML names the fault.
                Err(_) => toml::from_str(text).map_err(|e| Error::toml(file, text, &e))?,
            };
            pack.rule
                .into_iter()
                .map(|spec| compile_spec_as(file, spec, Trust::BuiltIn))
                .collect()
        })
        .collect::<Result<_>>()?;
    let rules: Vec<Rule> = packs.into_iter().flatten().collect();
    check_unique(&rules)?;
    Ok(rules)
}

/// The built-in packs with their examples, for `staunch rules test`.
pub fn load_with_examples() -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for (file, text, _) in BUILTIN_PACKS {
        rules.extend(parse_pack_as(file, text, Trust::BuiltIn)?);
    }
    check_unique(&rules)?;
    Ok(rules)
}

/// Refuses two rules with one id, naming the second of them (in pack order). Sorting indices
/// rather than hashing a thousand ids: this runs at every start.
pub fn check_unique(rules: &[Rule]) -> Result<()> {
    let mut order: Vec<usize> = (0..rules.len()).collect();
    order.sort_unstable_by(|&a, &b| rules[a].id.cmp(&rules[b].id).then(a.cmp(&b)));
    let second = order
        .windows(2)
        .filter(|pair| rules[pair[0]].id == rules[pair[1]].id)
        .map(|pair| pair[1])
        .min();
    match second {
        Some(at) => Err(Error::Rule {
            file: rules[at].pack.clone(),
            id: rules[at].id.clone(),
            message: "duplicate rule id".into(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Vec<Rule>> {
        parse_pack("test.toml", text)
    }

    #[test]
    fn a_duplicate_id_is_refused_naming_its_second_pack() {
        let rule = |id: &str| {
            format!("[[rule]]\nid = \"{id}\"\ndescription = \"d\"\ncategory = \"credential\"\nseverity = \"high\"\nkeywords = [\"k\"]\nregex = 'k'\n")
        };
        let mut rules = parse_pack("one.toml", &(rule("b") + &rule("a"))).unwrap();
        rules.extend(parse_pack("two.toml", &(rule("c") + &rule("a") + &rule("b"))).unwrap());
        assert!(check_unique(&rules[..3]).is_ok());
        let err = check_unique(&rules).unwrap_err().to_string();
        assert!(
            err.contains("two.toml") && err.contains("rule a") && err.contains("duplicate"),
            "{err}"
        );
    }

    #[test]
    fn missing_keywords_is_an_error_naming_the_rule() {
        let err = one(
            "[[rule]]\nid = \"x\"\ndescription = \"d\"\ncategory = \"credential\"\nseverity = \"high\"\nregex = 'a'\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("rule x"), "{err}");
        assert!(err.to_string().contains("keywords"), "{err}");
    }

    #[test]
    fn bad_regex_names_the_rule() {
        let err = one("[[rule]]\nid = \"bad\"\ndescription = \"d\"\ncategory = \"credential\"\nseverity = \"high\"\nkeywords=[\"a\"]\nregex = '(a'\n").unwrap_err();
        assert!(err.to_string().contains("rule bad: bad regex"), "{err}");
    }

    #[test]
    fn toml_error_names_file_and_line() {
        let err = one("[[rule]]\nid = \"x\"\nthis is not toml\n").unwrap_err();
        assert!(err.to_string().starts_with("test.toml:3:"), "{err}");
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = one("[[rule]]\nid = \"x\"\ndescription = \"d\"\ncategory = \"credential\"\nseverity = \"high\"\nkeywords=[\"a\"]\nregex = 'a'\nsecretgroup = 1\n").unwrap_err();
        assert!(err.to_string().contains("secretgroup"), "{err}");
    }

    #[test]
    fn every_pack_in_rules_is_built_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") {
                let path = format!("rules/{name}");
                assert!(
                    BUILTIN_PACKS.iter().any(|(file, _, _)| *file == path),
                    "{path} is not in BUILTIN_PACKS"
                );
            }
        }
    }

    /// What loading skips for built-in packs: every regex parses, every group exists, and
    /// every regex (the named rules' block and pair regexes too) compiles within the limits.
    #[test]
    fn builtin_packs_validate_and_compile() {
        for (file, text, _) in BUILTIN_PACKS {
            let rules = parse_pack(file, text).unwrap();
            for rule in &rules {
                compile_rule_regex(rule.regex.as_str())
                    .unwrap_or_else(|e| panic!("{file}: rule {}: {e}", rule.id));
                if let Some(named) = &rule.named {
                    for re in [&named.header, &named.pair] {
                        compile_rule_regex(re.as_str())
                            .unwrap_or_else(|e| panic!("{file}: rule {}: {e}", rule.id));
                    }
                }
            }
        }
    }

    #[test]
    fn builtin_packs_load() {
        let rules = load().unwrap();
        assert!(rules.len() > 20);
    }
}
