//! Hot pure code of the domain. Run: `cargo bench -p forum-benches`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use forum_domain::rules::validation::{Email, Username};
use forum_domain::secrets::{OpaqueToken, hash_token};

fn validation(c: &mut Criterion) {
    c.bench_function("username_parse", |b| {
        b.iter(|| Username::parse("username", black_box("Some_User_42")))
    });
    c.bench_function("email_parse", |b| {
        b.iter(|| Email::parse("email", black_box("first.last+tag@example.org")))
    });
}

fn tokens(c: &mut Criterion) {
    c.bench_function("opaque_token_generate", |b| b.iter(OpaqueToken::generate));
    let token = OpaqueToken::generate().plain;
    c.bench_function("opaque_token_hash", |b| {
        b.iter(|| hash_token(black_box(&token)))
    });
}

criterion_group!(benches, validation, tokens);
criterion_main!(benches);
