/// The hot read and crypto operations answered on the caller's thread from committed state, with
/// no actor hop and no suspension. A backend that offers this lets an HTTP front door answer them
/// on its event loop; every answer is what the backend's `KeyStoreService` method would give for
/// the same committed state (same values, same errors).
public protocol ImmediateKeyReads: Sendable {
  func describeKeyNow(_ request: DescribeKeyRequest) throws(KMSError) -> DescribeKeyResponse
  func encryptNow(_ request: EncryptRequest) throws(KMSError) -> EncryptResponse
  func decryptNow(_ request: DecryptRequest) throws(KMSError) -> DecryptResponse
  func generateDataKeyNow(_ request: GenerateDataKeyRequest) throws(KMSError) -> GenerateDataKeyResponse
  func generateRandomNow(_ request: GenerateRandomRequest) throws(KMSError) -> GenerateRandomResponse
}
