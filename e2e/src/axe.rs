//! An accessibility audit of what a page shows, with axe-core run inside
//! the page: the checks a screen reader user, a keyboard user or someone
//! who needs contrast depends on (names of controls, labels, contrast,
//! landmarks, ARIA used correctly), which the other tests do not look at.
//!
//! axe leaves the contrast of text over a background gradient undecided,
//! and this page has gradients behind most text (its glow, the header, one's
//! own bubbles); so contrast is checked a second time with every gradient
//! drawn as each of its ends in turn ([`Page::contrast_over_gradients`]).
//! What axe still cannot decide is printed, never counted as a pass.
//!
//! axe-core comes from npm at the exact version in `e2e/package.json`
//! (`cargo xtask test` runs `npm ci` there); the harness reads
//! `e2e/node_modules/axe-core/axe.min.js` and injects it into the page.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::page::Page;
use crate::repo_root;

/// Impacts that fail an audit. axe rates each rule "minor", "moderate",
/// "serious" or "critical"; the last two are the ones that lock someone
/// out or make a task very hard, and are printed and fail the test. The
/// others are printed only.
const FAILING_IMPACTS: &[&str] = &["serious", "critical"];

/// Runs axe on the whole document with the options in `arguments[0]` and
/// hands back what the Rust side needs: per violation its rule, impact,
/// help and the nodes' selectors. The last argument is the callback of
/// WebDriver's asynchronous script.
const RUN_AXE: &str = r#"
const options = arguments[0];
const done = arguments[arguments.length - 1];
if (typeof window.axe === "undefined") {
  done({ error: "axe-core is not loaded in the page" });
  return;
}
window.axe
  .run(document, options)
  .then((results) => done({
    violations: results.violations.map((v) => ({
      id: v.id,
      impact: v.impact || "unknown",
      help: v.help,
      helpUrl: v.helpUrl,
      targets: v.nodes.map((n) => {
        const why = [...n.any, ...n.all, ...n.none].map((c) => c.message).filter(Boolean);
        return n.target.map(String).join(" ") + (why.length ? ` (${why.join("; ")})` : "");
      }),
    })),
    // What axe could not decide, per rule: how many elements, and why
    // (the reasons, each once).
    incomplete: results.incomplete.map((v) => {
      const reasons = new Set(v.nodes.flatMap((n) =>
        [...n.any, ...n.all, ...n.none].map((c) => c.message)));
      return `${v.id}: ${v.nodes.length} element(s): ${[...reasons].join("; ")}`;
    }),
  }))
  .catch((e) => done({ error: String(e && e.stack ? e.stack : e) }));
"#;

/// axe cannot measure contrast over a background gradient (the page's
/// glow, the header, one's own bubbles, the accent buttons) and leaves that
/// text undecided. So the contrast rule runs again with every gradient
/// replaced by one solid colour: `arguments[0]` is "first" or "last" (its
/// first or last opaque colour stop) or "base" (the background colour under
/// it, where there is one, else the first stop). Text that passes at both
/// ends of a two-stop gradient passes along it. Transitions are turned off
/// on those elements so the colours apply at once. [`RESTORE_GRADIENTS`]
/// puts everything back.
const FLATTEN_GRADIENTS: &str = r#"
const which = arguments[0];
const clear = (c) => c === "transparent" || /^rgba\(.*,\s*0\)$/.test(c);
const flattened = [];
window.__axeFlattened = flattened;
for (const el of [document.documentElement, ...document.querySelectorAll("*")]) {
  const style = getComputedStyle(el);
  if (!style.backgroundImage.includes("gradient")) continue;
  const stops = (style.backgroundImage.match(/rgba?\([^)]*\)/g) || []).filter((c) => !clear(c));
  let color = which === "last" ? stops[stops.length - 1] : stops[0];
  if (which === "base" && !clear(style.backgroundColor)) color = style.backgroundColor;
  const saved = ["background-image", "background-color", "transition"].map((p) =>
    [p, el.style.getPropertyValue(p), el.style.getPropertyPriority(p)]);
  flattened.push([el, saved]);
  el.style.setProperty("transition", "none", "important");
  el.style.setProperty("background-image", "none", "important");
  if (color) el.style.setProperty("background-color", color, "important");
}
return flattened.length;
"#;

/// Undoes [`FLATTEN_GRADIENTS`].
const RESTORE_GRADIENTS: &str = r#"
for (const [el, saved] of window.__axeFlattened || []) {
  for (const [property, value, priority] of saved) {
    if (value) el.style.setProperty(property, value, priority);
    else el.style.removeProperty(property);
  }
}
window.__axeFlattened = [];
"#;

/// True once no finite CSS transition or animation is running: axe
/// measures contrast from the colours on screen, so a theme switch or a
/// panel sliding in must have finished first. Endless animations (the
/// typing dots) do not count.
const SETTLED: &str = "return document.getAnimations().every(a => \
     a.playState !== 'running' || a.effect === null || a.effect.getTiming().iterations === Infinity);";

/// Where the harness expects axe-core: installed by `npm ci` in `e2e/`.
pub fn axe_script_path() -> PathBuf {
    repo_root()
        .join("e2e")
        .join("node_modules")
        .join("axe-core")
        .join("axe.min.js")
}

/// The axe-core source, read once per test process. Fails the test, naming
/// the command to run, when it is not installed: an audit that quietly
/// skipped would pass a page nobody checked.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = axe_script_path();
        std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "cannot read axe-core at {} ({error}): run `npm ci` in {} \
                 (or `cargo xtask test`, which does it) before the browser tests",
                path.display(),
                repo_root().join("e2e").display()
            )
        })
    })
}

/// One rule axe found broken, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule, e.g. `color-contrast`.
    pub id: String,
    /// "minor", "moderate", "serious" or "critical".
    pub impact: String,
    /// What the rule asks for, in a sentence.
    pub help: String,
    /// Deque's page about the rule.
    pub help_url: String,
    /// A CSS selector for each element that breaks it, with axe's reason
    /// (for contrast: the ratio and the two colours).
    pub targets: Vec<String>,
}

impl Violation {
    fn from_json(value: &Value) -> Self {
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
        Self {
            id: text("id"),
            impact: text("impact"),
            help: text("help"),
            help_url: text("helpUrl"),
            targets: value["targets"]
                .as_array()
                .map(|targets| {
                    targets
                        .iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Whether this one fails the audit: impact serious or critical.
    pub fn fails(&self) -> bool {
        FAILING_IMPACTS.contains(&self.impact.as_str())
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}: {} ({})",
            self.impact, self.id, self.help, self.help_url
        )?;
        for target in &self.targets {
            write!(f, "\n      at {target}")?;
        }
        Ok(())
    }
}

impl Page {
    /// Runs axe-core on what the page shows now and returns every
    /// violation, whatever its impact; [`Page::audit_accessibility`] is
    /// what tests normally call.
    pub async fn axe_violations(&self) -> Vec<Violation> {
        self.run_axe(json!({ "resultTypes": ["violations"] }))
            .await
            .0
    }

    /// The contrast rule alone, once with every background gradient drawn
    /// as its first opaque colour, once as its last, and once as the
    /// background colour under it (transitions off, restored afterwards):
    /// what the whole-page run leaves undecided. Text that passes at both
    /// ends of a two-stop gradient passes along it. Each violation's help
    /// says which flattening found it.
    pub async fn contrast_over_gradients(&self) -> Vec<Violation> {
        let mut found = Vec::new();
        for which in ["first", "last", "base"] {
            self.js_with(FLATTEN_GRADIENTS, vec![json!(which)]).await;
            let (violations, _) = self
                .run_axe(json!({
                    "runOnly": ["color-contrast"],
                    "resultTypes": ["violations"],
                }))
                .await;
            self.js(RESTORE_GRADIENTS).await;
            found.extend(violations.into_iter().map(|mut violation| {
                violation.help = format!(
                    "{} (with background gradients drawn as their {which} colour)",
                    violation.help
                );
                violation
            }));
        }
        found
    }

    /// Runs axe-core with `options` on what the page shows now: every
    /// violation, and per rule what it could not decide (rule, how many
    /// elements, why).
    async fn run_axe(&self, options: Value) -> (Vec<Violation>, Vec<String>) {
        // Let transitions end, so contrast is measured on final colours.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.js(SETTLED).await != Value::Bool(true) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if self.js("return typeof window.axe").await != "object" {
            // The file is a function body for WebDriver: its UMD wrapper
            // sets `window.axe`.
            self.js(axe_source()).await;
        }
        let result = self
            .client()
            .execute_async(RUN_AXE, vec![options])
            .await
            .unwrap_or_else(|error| panic!("axe.run failed: {error}"));
        if let Some(error) = result["error"].as_str() {
            panic!("axe.run failed in the page: {error}");
        }
        let violations = result["violations"]
            .as_array()
            .unwrap_or_else(|| panic!("axe.run returned no violations list: {result}"))
            .iter()
            .map(Violation::from_json)
            .collect();
        let undecided = result["incomplete"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .collect();
        (violations, undecided)
    }

    /// Audits what the page shows now (every axe rule, and contrast again
    /// over flattened gradients: [`Page::contrast_over_gradients`]), named
    /// `what` in the output, and returns its serious and critical
    /// violations, each described with
    /// `what`, rule, impact, help and the elements' selectors; minor and
    /// moderate ones are printed only. A test that audits several views
    /// collects these and fails once with all of them
    /// ([`assert_accessible`]).
    pub async fn accessibility_failures(&self, what: &str) -> Vec<String> {
        let (mut violations, undecided) = self
            .run_axe(json!({ "resultTypes": ["violations", "incomplete"] }))
            .await;
        violations.extend(self.contrast_over_gradients().await);
        // Not violations, but not decided either: shown so nobody reads a
        // pass into them. (Contrast over gradients, the usual one, is
        // checked again above with the gradients flattened.)
        for rule in &undecided {
            eprintln!("accessibility ({what}), axe could not decide, review by hand: {rule}");
        }
        let (failing, other): (Vec<_>, Vec<_>) = violations.into_iter().partition(|v| v.fails());
        for violation in &other {
            eprintln!("accessibility ({what}), not failing: {violation}");
        }
        if failing.is_empty() {
            eprintln!("accessibility ({what}): no serious or critical violations");
        }
        failing
            .iter()
            .map(|violation| format!("{what}: {violation}"))
            .collect()
    }

    /// Audits what the page shows now, named `what` in the output; fails
    /// the test on any violation of impact serious or critical, listing
    /// each with its rule, impact, help and the elements' selectors. Minor
    /// and moderate ones are printed only.
    pub async fn audit_accessibility(&self, what: &str) {
        assert_accessible(&self.accessibility_failures(what).await);
    }
}

/// Fails the test if `failures` (from [`Page::accessibility_failures`]) is
/// not empty, listing every one.
pub fn assert_accessible(failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    let list: Vec<String> = failures.iter().map(|f| format!("  - {f}")).collect();
    panic!(
        "{} serious or critical accessibility violation(s):\n{}",
        failures.len(),
        list.join("\n")
    );
}
