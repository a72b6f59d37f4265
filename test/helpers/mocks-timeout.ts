// Mocks tests register whole resource graphs (and serialize dynamic providers);
// on a busy 2-core machine that can take longer than Jest's 5 s default.
jest.setTimeout(60_000);
