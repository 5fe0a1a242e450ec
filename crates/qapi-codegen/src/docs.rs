//! Rustdoc from QAPI documentation text.
//!
//! QAPI documentation is reStructuredText with `@name` references.  The
//! rules here keep rustdoc quiet: references become code spans; brackets
//! and angle brackets are escaped (no broken links or stray HTML); bare
//! URLs get angle brackets; and indented blocks, which Markdown would turn
//! into doctests, are fenced as `text`.

/// Markdown lines for one piece of QAPI documentation text.
pub fn markdown(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence: Option<usize> = None;
    let mut prev_blank = true;
    let mut prev_directive = false;
    for line in text.lines() {
        let line = line.trim_end();
        let indent = line.len() - line.trim_start().len();
        if let Some(min) = fence {
            if line.is_empty() || indent >= min {
                out.push(line.get(min..).unwrap_or("").to_owned());
                continue;
            }
            close_fence(&mut out);
            fence = None;
        }
        if !line.is_empty() && ((prev_blank && indent >= 4) || (prev_directive && indent >= 1)) {
            out.push("```text".to_owned());
            out.push(line[indent..].to_owned());
            fence = Some(indent);
            continue;
        }
        if !line.is_empty() {
            prev_directive = line.trim_start().starts_with(".. ") || line.ends_with("::");
        }
        prev_blank = line.is_empty();
        out.push(escape(line));
    }
    if fence.is_some() {
        close_fence(&mut out);
    }
    out
}

fn close_fence(out: &mut Vec<String>) {
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.push("```".to_owned());
    out.push(String::new());
}

/// Escapes one line of prose.
fn escape(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut in_code = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            in_code = !in_code;
            out.push(c);
            rest = &rest[1..];
            continue;
        }
        if in_code {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if rest.starts_with("http://") || rest.starts_with("https://") {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '>' || c == ')')
                .unwrap_or(rest.len());
            let url = rest[..end].trim_end_matches(['.', ',', ';']);
            out.push('<');
            out.push_str(url);
            out.push('>');
            rest = &rest[url.len()..];
            continue;
        }
        if c == '@' {
            let name_len = rest[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
                .unwrap_or(rest.len() - 1);
            let name = rest[1..1 + name_len].trim_end_matches('.');
            if !name.is_empty() {
                out.push('`');
                out.push_str(name);
                out.push('`');
                rest = &rest[1 + name.len()..];
                continue;
            }
        }
        if matches!(c, '[' | ']' | '<' | '>' | '\\' | '*' | '_' | '#' | '|') {
            out.push('\\');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if in_code {
        // An unbalanced backtick would swallow what follows.
        out.push('`');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_escapes() {
        assert_eq!(markdown("Use @node-name, see [1] <here>."), ["Use `node-name`, see \\[1\\] \\<here\\>."]);
        assert_eq!(markdown("See https://qemu.org."), ["See <https://qemu.org>."]);
        assert_eq!(markdown("``code [x]`` and *y*"), ["``code [x]`` and \\*y\\*"]);
    }

    #[test]
    fn indented_blocks_are_fenced() {
        let text = "Example:\n\n    -> { \"execute\": \"x\" }\n    <- { \"return\": {} }\n\nAfter.";
        assert_eq!(
            markdown(text),
            ["Example:", "", "```text", "-> { \"execute\": \"x\" }", "<- { \"return\": {} }", "```", "", "After."]
        );
        let directive = ".. qmp-example::\n\n   -> {}\n   <- {}";
        assert_eq!(markdown(directive), [".. qmp-example::", "", "```text", "-> {}", "<- {}", "```", ""]);
    }

    #[test]
    fn continuation_lines_stay_prose() {
        assert_eq!(markdown("first line\n    continued"), ["first line", "    continued"]);
    }
}
