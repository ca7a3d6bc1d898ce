import Testing

@Test func placeholder_DashboardTests() {}
