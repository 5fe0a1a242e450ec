//! Rustdoc from QAPI documentation text.
//!
//! QAPI documentation is reStructuredText with `@name` references.  The
//! rules here keep rustdoc quiet: references become code spans; brackets
//! and angle brackets are escaped (no broken links or stray HTML); bare
//! URLs get angle brackets; and indented blocks, which Markdown would turn
//! into doctests, are fenced as `text`.

/// How a fenced block ends.
#[derive(Clone, Copy)]
enum Fence {
    /// An indented literal block: at the first line indented less.
    Indented(usize),
    /// A QMP example (`->`/`<-` lines): at the first blank line.
    Example,
}

/// The column where a list item's text starts, if `line` (without its
/// indentation) starts a Markdown list item.
fn list_item(line: &str) -> Option<usize> {
    for marker in ["- ", "+ "] {
        if line.starts_with(marker) {
            return Some(marker.len());
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") ")) {
        return Some(digits + 2);
    }
    None
}

/// Markdown lines for one piece of QAPI documentation text.
pub fn markdown(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence: Option<Fence> = None;
    // Open list items: (indent in the source, indent written, text column written).
    let mut list: Vec<(usize, usize, usize)> = Vec::new();
    let mut prev_blank = true;
    let mut prev_directive = false;
    for line in text.lines() {
        let expanded = line.replace('\t', "    ");
        let line = expanded.trim_end();
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        match fence {
            Some(Fence::Indented(min)) if line.is_empty() || indent >= min => {
                out.push(line.get(min..).unwrap_or("").to_owned());
                continue;
            }
            Some(Fence::Example) if !line.is_empty() => {
                out.push(line.to_owned());
                continue;
            }
            Some(_) => {
                close_fence(&mut out);
                fence = None;
                prev_blank = true;
                if line.is_empty() {
                    continue;
                }
            }
            None => {}
        }
        if body.starts_with("->") || body.starts_with("<-") {
            if !prev_blank {
                out.push(String::new());
            }
            out.push("```text".to_owned());
            out.push(line.to_owned());
            fence = Some(Fence::Example);
            list.clear();
            continue;
        }
        if !line.is_empty() && ((prev_blank && indent >= 4) || (prev_directive && indent >= 1)) {
            out.push("```text".to_owned());
            out.push(body.to_owned());
            fence = Some(Fence::Indented(indent));
            list.clear();
            continue;
        }
        if line.is_empty() {
            list.clear();
            prev_blank = true;
            out.push(String::new());
            continue;
        }
        prev_directive = body.starts_with(".. ") || line.ends_with("::");
        prev_blank = false;
        if let Some(width) = list_item(body) {
            while list.last().is_some_and(|&(src, _, _)| src > indent) {
                list.pop();
            }
            let written = match list.last() {
                Some(&(src, out_indent, _)) if src == indent => {
                    list.pop();
                    out_indent
                }
                Some(&(_, _, text_col)) => text_col,
                None => 0,
            };
            list.push((indent, written, written + width));
            out.push(format!("{}{}", " ".repeat(written), escape(body)));
        } else if let Some(&(_, _, col)) = list.last() {
            out.push(format!("{}{}", " ".repeat(col), escape(body)));
        } else {
            out.push(escape(line));
        }
    }
    if fence.is_some() {
        close_fence(&mut out);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
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
    // The length of the backtick run that opened the current code span.
    let mut code: Option<usize> = None;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        // Copy the run up to the next character that may need escaping or
        // rewriting (in a code span, only a backtick ends it) at once.
        let plain = rest
            .bytes()
            .position(|b| match code {
                Some(_) => b == b'`',
                None => matches!(
                    b,
                    b'`' | b'h'
                        | b'@'
                        | b'['
                        | b']'
                        | b'<'
                        | b'>'
                        | b'\\'
                        | b'*'
                        | b'_'
                        | b'#'
                        | b'|'
                ),
            })
            .unwrap_or(rest.len());
        if plain > 0 {
            out.push_str(&rest[..plain]);
            rest = &rest[plain..];
            continue;
        }
        if c == '`' {
            let run = rest.len() - rest.trim_start_matches('`').len();
            code = match code {
                None => Some(run),
                Some(open) if open == run => None,
                other => other,
            };
            out.push_str(&rest[..run]);
            rest = &rest[run..];
            continue;
        }
        if code.is_some() {
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
    if let Some(open) = code {
        // An unbalanced run would swallow what follows.
        out.push_str(&"`".repeat(open));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_escapes() {
        assert_eq!(
            markdown("Use @node-name, see [1] <here>."),
            ["Use `node-name`, see \\[1\\] \\<here\\>."]
        );
        assert_eq!(
            markdown("See https://qemu.org."),
            ["See <https://qemu.org>."]
        );
        assert_eq!(
            markdown("``code [x]`` and *y*"),
            ["``code [x]`` and \\*y\\*"]
        );
    }

    #[test]
    fn indented_blocks_are_fenced() {
        let text = "Example:\n\n    -> { \"execute\": \"x\" }\n    <- { \"return\": {} }\n\nAfter.";
        assert_eq!(
            markdown(text),
            [
                "Example:",
                "",
                "```text",
                "    -> { \"execute\": \"x\" }",
                "    <- { \"return\": {} }",
                "```",
                "",
                "After."
            ]
        );
        let directive = ".. qmp-example::\n\n   -> {}\n   <- {}";
        assert_eq!(
            markdown(directive),
            [
                ".. qmp-example::",
                "",
                "```text",
                "   -> {}",
                "   <- {}",
                "```"
            ]
        );
        let example =
            "Example:\n-> { \"execute\": \"a\",\n     \"arguments\": {} }\n<- {}\n\nDone.";
        assert_eq!(
            markdown(example),
            [
                "Example:",
                "",
                "```text",
                "-> { \"execute\": \"a\",",
                "     \"arguments\": {} }",
                "<- {}",
                "```",
                "",
                "Done."
            ]
        );
    }

    #[test]
    fn nested_lists() {
        assert_eq!(
            markdown("Errors:\n         - If a, A\n         - If b, B\n           more"),
            ["Errors:", "- If a, A", "- If b, B", "  more"]
        );
        assert_eq!(
            markdown("- top\n    - inner\n      more\n- next"),
            ["- top", "  - inner", "    more", "- next"]
        );
    }

    #[test]
    fn list_continuations_are_aligned() {
        assert_eq!(
            markdown("- one\n     more\n- two"),
            ["- one", "  more", "- two"]
        );
        assert_eq!(
            markdown("1. first\ncontinued"),
            ["1. first", "   continued"]
        );
    }

    #[test]
    fn continuation_lines_stay_prose() {
        assert_eq!(
            markdown("first line\n    continued"),
            ["first line", "    continued"]
        );
    }
}
