import Foundation
import Testing

@testable import KeyStoreEngine

/// The secp256k1 arithmetic behind ECC_SECG_P256K1 keys, against published values (SEC 2's
/// generator and its small multiples, the group order). Signatures are checked against Python's
/// `cryptography` in the boto3 conformance test.
@Suite struct Secp256k1Tests {
  typealias C = Secp256k1

  func hex(_ data: Data) -> String { data.map { String(format: "%02X", $0) }.joined() }

  @Test func smallMultiplesOfTheGenerator() throws {
    let one = try #require(C.multiplyGenerator(.one))
    #expect(one == C.g)
    let two = try #require(C.multiplyGenerator(C.U256([2, 0, 0, 0])))
    #expect(hex(two.x.bigEndian) == "C6047F9441ED7D6D3045406E95C07CD85C778E4B8CEF3CA7ABAC09B95C709EE5")
    #expect(hex(two.y.bigEndian) == "1AE168FEA63DC339A3C58419466CEAEEF7F632653266D0E1236431A950CFE52A")
    let three = try #require(C.multiplyGenerator(C.U256([3, 0, 0, 0])))
    #expect(hex(three.x.bigEndian) == "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9")
    #expect(hex(three.y.bigEndian) == "388F7B0F632DE8140FE337E62A37F3566500A99934C2231B6CB9FD7584B8E672")
    // n·G is the point at infinity; (n−1)·G is −G.
    #expect(C.multiplyGenerator(C.n) == nil)
    let minusOne = try #require(C.multiplyGenerator(C.U256.subtract(C.n, .one).0))
    #expect(minusOne.x == C.g.x)
    #expect(minusOne.y == C.U256.subtract(C.p, C.g.y).0)
  }

  @Test func signaturesVerifyAndAnythingElseDoesNot() throws {
    let key = C.generatePrivateKey()
    let other = C.generatePrivateKey()
    let digest = Data((0..<32).map { UInt8($0) })
    for _ in 0..<3 {
      let signature = try #require(C.sign(digest: digest, privateKey: key))
      #expect(C.verify(digest: digest, signature: signature, privateKey: key))
      #expect(!C.verify(digest: digest, signature: signature, privateKey: other))
      var changed = digest
      changed[31] ^= 1
      #expect(!C.verify(digest: changed, signature: signature, privateKey: key))
      var broken = signature
      broken[broken.count - 1] ^= 1
      #expect(!C.verify(digest: digest, signature: broken, privateKey: key))
    }
    #expect(!C.verify(digest: digest, signature: Data([0x30, 0x00]), privateKey: key))
    #expect(!C.verify(digest: digest, signature: Data(), privateKey: key))
  }

  @Test func keysRoundTripThroughPKCS8AndRefuseOtherBytes() throws {
    let key = C.generatePrivateKey()
    let pkcs8 = try #require(C.privateKeyPKCS8(key))
    #expect(C.importPKCS8(pkcs8) == key)
    let spki = try #require(C.publicKeyDER(key))
    #expect(spki.count == 88)  // SEQUENCE(SEQUENCE(OID, OID), BIT STRING 04‖X‖Y)
    #expect(C.scalar(Data(repeating: 0, count: 32)) == nil)
    #expect(C.scalar(C.n.bigEndian) == nil)
    #expect(C.importPKCS8(Data([0x30, 0x03, 0x02, 0x01, 0x00])) == nil)
  }
}
