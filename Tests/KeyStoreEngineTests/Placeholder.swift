import Testing

@Test func placeholder_KeyStoreEngineTests() {}
