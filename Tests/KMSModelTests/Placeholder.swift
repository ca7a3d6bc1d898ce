import Testing

@Test func placeholder_KMSModelTests() {}
