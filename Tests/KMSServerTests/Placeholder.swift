import Testing

@Test func placeholder_KMSServerTests() {}
