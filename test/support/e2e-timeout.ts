// An e2e test's own waits (`eventually`'s 30 s, `drained`'s 60 s, a bounded request) end
// before jest's: a slow step then fails with what it waited for, not as an anonymous
// "Exceeded timeout" that says nothing about where.
jest.setTimeout(90_000);
