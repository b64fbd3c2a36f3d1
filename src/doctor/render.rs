//! Text output: one block per strategy, one line per finding with its severity, the
//! evidence, then the fix and the source indented below. Pure.

use super::{verdict, Finding, Severity, Strategy};

pub fn render(title: &str, findings: &[Finding]) -> String {
    let mut out = format!("{title}\n");
    let mut current: Option<Strategy> = None;
    for f in findings {
        if current != Some(f.strategy) {
            out.push_str(&format!("\n{}\n", f.strategy.title()));
            current = Some(f.strategy);
        }
        out.push_str(&format!(
            "  {:<5}  {:<26} {}\n",
            f.severity.word().to_uppercase(),
            f.check,
            f.evidence
        ));
        if !f.fix.is_empty() {
            out.push_str(&format!("         fix: {}\n", f.fix));
        }
        if f.severity > Severity::Info {
            out.push_str(&format!("         source: {}\n", f.source));
        }
    }
    let v = verdict(findings);
    out.push_str(&format!(
        "\nverdict: {} (exit {})\n",
        v.word(),
        v.exit_code()
    ));
    out
}
