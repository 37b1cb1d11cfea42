//! A local extractive summary: the thread's own most representative sentences, no network.
//! The last resort when every LLM provider is down, so it must always produce something.
//!
//! Sentences of the post and comments are scored by how much of the thread's vocabulary they
//! carry (term frequency over the whole thread, stopwords ignored, title words counted extra),
//! weighted up for the post (the opening sentence most) and for well-voted comments. The best
//! 3 to 6 that fit the budget are returned in thread order. Deterministic: same input, same
//! output.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use super::summary::{ThreadInput, truncate_chars};

/// Stored as the summary's model name.
pub const MODEL: &str = "extractive-v1";
pub const MIN_SENTENCES: usize = 3;
pub const MAX_SENTENCES: usize = 6;
/// Past `MIN_SENTENCES`, a sentence scoring below this share of the best one is left out.
const WEAK_SHARE: f64 = 0.4;
/// Sentences sharing this much vocabulary with a chosen one repeat it.
const REDUNDANT_OVERLAP: f64 = 0.6;
/// Fewer content words than this: "Thanks!", "+1", "This." carry nothing.
const MIN_CONTENT_WORDS: usize = 3;

/// Whitespace-separated, so rustfmt keeps it compact.
const STOPWORDS: &str = "\
a about above after again against all also am an and any are aren't as at be because \
been before being below between both but by can could did do does doing don down during \
each even ever few for from further get got had has have having he her here hers herself \
him himself his how i if in into is isn it its itself just let like ll me might more \
most much must my myself no nor not now of off on once one only or other our ours \
ourselves out over own re really same she should so some such than that the their theirs \
them themselves then there these they thing things think this those through to too under \
until up us use ve very was we well were what when where which while who whom why will \
with would yes yet you your yours yourself yourselves";

static STOPWORD_SET: LazyLock<BTreeSet<&str>> =
    LazyLock::new(|| STOPWORDS.split_whitespace().collect());

/// Words before a period that do not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "eg", "ie", "etc", "vs", "mr", "mrs", "ms", "dr", "st", "approx", "cf", "no",
];

struct Sentence {
    text: String,
    /// Position in the thread (post first, then comments in order).
    order: usize,
    /// Position and vote weight.
    weight: f64,
    words: BTreeSet<String>,
}

/// The summary of `input` in at most `char_budget` characters.
pub fn summarize(input: &ThreadInput, char_budget: usize) -> String {
    let sentences = collect(input);
    let mut freq: BTreeMap<&str, f64> = BTreeMap::new();
    for s in &sentences {
        for w in &s.words {
            *freq.entry(w.as_str()).or_default() += 1.0;
        }
    }
    let title_words = content_words(&input.title);
    for w in &title_words {
        if let Some(f) = freq.get_mut(w.as_str()) {
            // The title names the topic: sentences about it are the ones to keep.
            *f += 2.0;
        }
    }
    let max_freq = freq.values().copied().fold(1.0, f64::max);

    let mut scored: Vec<(f64, &Sentence)> = sentences
        .iter()
        .filter(|s| s.words.len() >= MIN_CONTENT_WORDS)
        .map(|s| {
            // Iterating the BTreeSet sums in a fixed order: float sums stay reproducible.
            let coverage: f64 = s
                .words
                .iter()
                .map(|w| freq.get(w.as_str()).copied().unwrap_or(0.0) / max_freq)
                .sum();
            let score = coverage / (s.words.len() as f64).sqrt() * s.weight;
            (score, s)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.order.cmp(&b.1.order)));

    let best = scored.first().map_or(0.0, |(score, _)| *score);
    let mut chosen: Vec<&Sentence> = Vec::new();
    let mut used = 0usize;
    for (score, s) in &scored {
        if chosen.len() >= MAX_SENTENCES {
            break;
        }
        if chosen.len() >= MIN_SENTENCES && *score < best * WEAK_SHARE {
            break;
        }
        let len = s.text.chars().count() + usize::from(!chosen.is_empty());
        if used + len > char_budget || chosen.iter().any(|c| overlap(c, s) >= REDUNDANT_OVERLAP) {
            continue;
        }
        used += len;
        chosen.push(s);
    }
    if chosen.is_empty() {
        // Nothing fits whole (or nothing carries content): the best or first sentence, cut.
        let fallback = scored
            .first()
            .map(|(_, s)| s.text.as_str())
            .or_else(|| sentences.first().map(|s| s.text.as_str()))
            .unwrap_or(input.title.trim());
        return truncate_chars(fallback, char_budget);
    }
    chosen.sort_by_key(|s| s.order);
    chosen
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn collect(input: &ThreadInput) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut push = |text: String, weight: f64| {
        let words = content_words(&text);
        let order = out.len();
        out.push(Sentence {
            text,
            order,
            weight,
            words,
        });
    };
    for (i, text) in sentences(&input.body).into_iter().enumerate() {
        // The post frames the thread, its opening sentence most of all.
        let weight = if i == 0 { 1.6 } else { 1.25 };
        push(text, weight);
    }
    for comment in &input.comments {
        let weight = if comment.score > 0 {
            1.0 + 0.15 * (1.0 + comment.score as f64).ln()
        } else if comment.score < 0 {
            0.6
        } else {
            1.0
        };
        for text in sentences(&comment.body) {
            push(text, weight);
        }
    }
    out
}

/// Share of the smaller vocabulary that the other one also has.
fn overlap(a: &Sentence, b: &Sentence) -> f64 {
    let common = a.words.intersection(&b.words).count();
    let smaller = a.words.len().min(b.words.len()).max(1);
    common as f64 / smaller as f64
}

fn content_words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| w.chars().count() >= 2 && !STOPWORD_SET.contains(w.as_str()))
        .collect()
}

/// Markdown-ish text split into sentences: code blocks dropped, list and quote markers and
/// emphasis stripped, paragraphs and lines that end without punctuation kept as sentences.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut paragraph = String::new();
    let mut in_code = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            flush(&mut paragraph, &mut out);
            continue;
        }
        if in_code || line.starts_with("    ") || line.starts_with('\t') {
            continue;
        }
        let content = strip_markers(trimmed);
        if content.is_empty() {
            flush(&mut paragraph, &mut out);
            continue;
        }
        // A list item or heading stands alone.
        if content.len() != trimmed.len() {
            flush(&mut paragraph, &mut out);
        }
        if !paragraph.is_empty() {
            paragraph.push(' ');
        }
        paragraph.push_str(content);
        if content.len() != trimmed.len() {
            flush(&mut paragraph, &mut out);
        }
    }
    flush(&mut paragraph, &mut out);
    out
}

fn strip_markers(line: &str) -> &str {
    let mut s = line;
    loop {
        let before = s.len();
        s = s
            .trim_start_matches('#')
            .trim_start_matches('>')
            .trim_start();
        for marker in ["- ", "* ", "+ "] {
            if let Some(rest) = s.strip_prefix(marker) {
                s = rest.trim_start();
            }
        }
        let digits = s.chars().take_while(char::is_ascii_digit).count();
        if digits > 0
            && digits < 4
            && let Some(rest) = s[digits..]
                .strip_prefix(". ")
                .or(s[digits..].strip_prefix(") "))
        {
            s = rest.trim_start();
        }
        if s.len() == before {
            return s;
        }
    }
}

fn flush(paragraph: &mut String, out: &mut Vec<String>) {
    let text = paragraph
        .replace("**", "")
        .replace("__", "")
        .replace('`', "");
    paragraph.clear();
    split_sentences(&text, out);
}

fn split_sentences(text: &str, out: &mut Vec<String>) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut start = 0usize;
    for (k, &(i, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        // Closing quotes and brackets belong to the sentence they end.
        let mut end = k + 1;
        while end < chars.len() && matches!(chars[end].1, '"' | '\'' | ')' | ']' | '”' | '’') {
            end += 1;
        }
        let next_is_space = chars.get(end).is_none_or(|&(_, n)| n.is_whitespace());
        if !next_is_space || (c == '.' && is_abbreviation(&text[start..i])) {
            continue;
        }
        let cut = chars.get(end).map_or(text.len(), |&(j, _)| j);
        push_sentence(&text[start..cut], out);
        start = cut;
    }
    push_sentence(&text[start..], out);
}

fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_lowercase();
    word.chars().count() == 1 && word.chars().all(char::is_alphabetic)
        || ABBREVIATIONS.contains(&word.as_str())
}

fn push_sentence(raw: &str, out: &mut Vec<String>) {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return;
    }
    let ends = text
        .trim_end_matches(['"', '\'', ')', ']', '”', '’'])
        .ends_with(['.', '!', '?', ':']);
    if ends {
        out.push(text);
    } else {
        // A heading or a last line without a full stop still reads as a sentence in prose.
        out.push(format!("{text}."));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::summary::CommentInput;

    fn comment(body: &str, score: i64) -> CommentInput {
        CommentInput {
            author: "someone".into(),
            body: body.into(),
            score,
        }
    }

    fn database_thread() -> ThreadInput {
        ThreadInput {
            title: "Postgres or SQLite for a small forum?".into(),
            body: "We are building a small forum and must pick a database. \
                   Postgres offers concurrent writers, replication and full text search. \
                   SQLite is a single file and needs no server. \
                   My cat is called Rufus."
                .into(),
            comments: vec![
                comment(
                    "Postgres handles concurrent writers far better than SQLite. \
                     Thanks for asking!",
                    42,
                ),
                comment(
                    "SQLite in WAL mode copes with a small forum's writes. \
                     Backups of a single database file are trivial.",
                    10,
                ),
                comment("+1", 3),
                comment("Bananas are yellow and tasty fruit.", -5),
            ],
        }
    }

    #[test]
    fn splits_sentences_and_markdown() {
        let text = "# Setup guide\n\nFirst install it. Then run e.g. `make` (twice!). Done?\n\
                    - item one\n- item two\n\n```\nlet x = 1. let y = 2.\n```\n\
                    > Quoted text here\n1. Numbered step\nThe version is 2.5 now";
        assert_eq!(
            sentences(text),
            vec![
                "Setup guide.",
                "First install it.",
                "Then run e.g. make (twice!).",
                "Done?",
                "item one.",
                "item two.",
                "Quoted text here.",
                "Numbered step.",
                "The version is 2.5 now.",
            ]
        );
        assert_eq!(
            sentences("He said \"stop.\" Then left."),
            ["He said \"stop.\"", "Then left."]
        );
        assert_eq!(
            sentences("Ask Dr. Smith. Or J. Doe."),
            ["Ask Dr. Smith.", "Or J. Doe."]
        );
        assert!(sentences("   \n\n").is_empty());
    }

    #[test]
    fn picks_on_topic_sentences_in_thread_order() {
        let summary = summarize(&database_thread(), 1_000);
        assert!(
            summary.starts_with("We are building a small forum"),
            "{summary}"
        );
        assert!(
            summary.contains("Postgres handles concurrent writers"),
            "{summary}"
        );
        assert!(!summary.contains("Rufus"), "off-topic: {summary}");
        assert!(
            !summary.contains("Bananas"),
            "downvoted and off-topic: {summary}"
        );
        assert!(!summary.contains("+1"), "{summary}");
        assert!(!summary.contains("Thanks for asking"), "{summary}");
        let n = sentences(&summary).len();
        assert!(
            (MIN_SENTENCES..=MAX_SENTENCES).contains(&n),
            "{n}: {summary}"
        );
        // Thread order: the post's sentences come before the comments'.
        let post = summary.find("We are building").unwrap();
        let reply = summary.find("Postgres handles").unwrap();
        assert!(post < reply);
    }

    #[test]
    fn keeps_to_the_budget() {
        let input = database_thread();
        for budget in [60, 120, 200, 400] {
            let summary = summarize(&input, budget);
            assert!(!summary.is_empty(), "{budget}");
            assert!(summary.chars().count() <= budget, "{budget}: {summary}");
        }
        assert!(summarize(&input, 400).len() > summarize(&input, 120).len());
        // A budget smaller than any sentence still gives the start of the best one.
        let tiny = summarize(&input, 20);
        assert!(tiny.chars().count() <= 20 && tiny.ends_with('…'), "{tiny}");
    }

    #[test]
    fn at_most_six_sentences() {
        let words = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
            "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
            "sierra", "tango", "uniform", "victor", "whiskey", "xray",
        ];
        let body = words
            .chunks(3)
            .map(|w| format!("Forum {} {} {}.", w[0], w[1], w[2]))
            .collect::<Vec<_>>()
            .join(" ");
        let input = ThreadInput {
            title: "Forum".into(),
            body,
            comments: vec![],
        };
        let summary = summarize(&input, 10_000);
        assert_eq!(sentences(&summary).len(), MAX_SENTENCES, "{summary}");
    }

    #[test]
    fn drops_repeated_sentences() {
        let input = ThreadInput {
            title: "Release date of version two".into(),
            body: "The release date of version two is in March.".into(),
            comments: vec![
                comment("The release date of version two is in March!", 50),
                comment("Version two brings a new plugin system.", 5),
                comment("The plugin system breaks old themes, sadly.", 2),
            ],
        };
        let summary = summarize(&input, 1_000);
        assert_eq!(summary.matches("release date").count(), 1, "{summary}");
        assert!(summary.contains("plugin system"), "{summary}");
    }

    #[test]
    fn vote_scores_break_ties() {
        let input = |a: i64, b: i64| ThreadInput {
            title: "Tabs".into(),
            body: String::new(),
            comments: vec![
                comment("Tabs let every reader choose indentation width.", a),
                comment("Spaces keep alignment identical across editors.", b),
            ],
        };
        // With room for one sentence only, the better-voted one wins.
        let one = 48;
        assert_eq!(
            summarize(&input(100, 0), one),
            "Tabs let every reader choose indentation width."
        );
        assert_eq!(
            summarize(&input(0, 100), one),
            "Spaces keep alignment identical across editors."
        );
    }

    #[test]
    fn deterministic() {
        let input = database_thread();
        let first = summarize(&input, 500);
        for _ in 0..20 {
            assert_eq!(summarize(&input, 500), first);
        }
    }

    #[test]
    fn never_empty_for_a_non_empty_thread() {
        let only_title = ThreadInput {
            title: "Just a title".into(),
            body: String::new(),
            comments: vec![],
        };
        assert_eq!(summarize(&only_title, 500), "Just a title");
        let short = ThreadInput {
            title: "Hi".into(),
            body: "Hello there.".into(),
            comments: vec![comment("Yo.", 1)],
        };
        assert_eq!(summarize(&short, 500), "Hello there.");
    }
}
