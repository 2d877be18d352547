//! Turns the built-in rule packs into compact JSON without their examples, so a scan does not
//! parse 800 KB of TOML (most of it examples) at every start: a hook's whole budget is a few
//! milliseconds. `staunch rules test` still reads the TOML, examples included.

// Cargo reads this script's standard output: `println!` is the protocol here.
#![allow(clippy::disallowed_macros)]

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=rules");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut names: Vec<String> = std::fs::read_dir("rules")
        .expect("rules/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    for name in names {
        let path = Path::new("rules").join(&name);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).expect("a rule pack is readable");
        // A pack that does not parse is reported when the TOML is loaded (in tests, in
        // `rules test`); here it is copied as an empty pack so the message names the file.
        let mut pack: toml::Table = toml::from_str(&text).unwrap_or_default();
        if let Some(toml::Value::Array(rules)) = pack.get_mut("rule") {
            for rule in rules {
                if let toml::Value::Table(table) = rule {
                    table.remove("examples");
                    table.remove("counter_examples");
                }
            }
        }
        let json = serde_json::to_string(&pack).expect("TOML values serialise as JSON");
        let target = Path::new(&out).join(name.replace(".toml", ".json"));
        std::fs::write(target, json).expect("OUT_DIR is writable");
    }
}
