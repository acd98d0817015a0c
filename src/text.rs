//! Small text helpers shared by whoever quotes text in a message.

const ELLIPSIS: &str = " … ";

/// `text` cut to at most `max_bytes`, keeping its head and tail around an ellipsis.
pub(crate) fn shorten_middle(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    if max_bytes <= ELLIPSIS.len() {
        return String::new();
    }
    let keep = max_bytes - ELLIPSIS.len();
    let head_end = floor_char_boundary(text, keep * 2 / 3);
    let tail_start = ceil_char_boundary(text, text.len() - (keep - head_end));
    format!("{}{ELLIPSIS}{}", &text[..head_end], &text[tail_start..])
}

/// How many bytes [`shorten_middle`] adds besides what it keeps.
pub(crate) const ELLIPSIS_BYTES: usize = ELLIPSIS.len();

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn ceil_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_keeps_its_head_and_tail_within_the_limit() {
        let text = "head-".to_owned() + &"x".repeat(100) + "-tail";
        let short = shorten_middle(&text, 40);
        assert!(short.len() <= 40, "{short}");
        assert!(
            short.starts_with("head-") && short.ends_with("-tail"),
            "{short}"
        );
        assert_eq!(shorten_middle("short", 40), "short");
    }

    #[test]
    fn multibyte_characters_are_never_cut() {
        let text = "é".repeat(100);
        let short = shorten_middle(&text, 51);
        assert!(short.len() <= 51);
        assert!(short.chars().all(|c| c == 'é' || " … ".contains(c)));
    }
}
