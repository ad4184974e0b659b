//! The store contract (tocsin_store::conformance), run against PostgreSQL: every test on its own
//! freshly created database. PostgreSQL must be reachable (TOCSIN_TEST_PG); these tests fail, never
//! skip, when it is not.

mod common;

tocsin_store::store_conformance_tests!(common::make);

// The Review part (match reviews, draft edits, cancellations) on PostgreSQL too.
tocsin_store::review_conformance_tests!(common::make);
