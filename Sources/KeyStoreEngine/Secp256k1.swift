import Foundation

/// ECDSA on secp256k1 (SEC 2, section 2.4.1) for `ECC_SECG_P256K1` keys, which swift-crypto does
/// not offer: 256-bit integers in four 64-bit limbs, Montgomery multiplication modulo the field
/// prime and the group order, Jacobian point arithmetic, and the DER shapes KMS speaks (ECDSA
/// signatures, SubjectPublicKeyInfo, PKCS#8). Checked against Python's `cryptography` in the
/// conformance tests. Not constant-time: this is an emulator's key, never a production secret.
enum Secp256k1 {
  // MARK: 256-bit integers

  /// An unsigned 256-bit integer in four limbs, least significant first (stored inline: no
  /// allocation per operation).
  struct U256: Equatable, Sendable {
    var l0: UInt64
    var l1: UInt64
    var l2: UInt64
    var l3: UInt64

    init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64) {
      self.l0 = l0
      self.l1 = l1
      self.l2 = l2
      self.l3 = l3
    }

    init(_ limbs: [UInt64]) {
      precondition(limbs.count == 4)
      self.init(limbs[0], limbs[1], limbs[2], limbs[3])
    }

    static let zero = U256(0, 0, 0, 0)
    static let one = U256(1, 0, 0, 0)

    subscript(i: Int) -> UInt64 {
      get {
        switch i {
        case 0: l0
        case 1: l1
        case 2: l2
        default: l3
        }
      }
      set {
        switch i {
        case 0: l0 = newValue
        case 1: l1 = newValue
        case 2: l2 = newValue
        default: l3 = newValue
        }
      }
    }

    /// From 32 big-endian bytes (shorter input is left-padded with zeros; longer input keeps its
    /// leftmost 32 bytes, as ECDSA truncates a digest).
    init(bigEndian bytes: Data) {
      let b = [UInt8](bytes.prefix(32))
      let padded = [UInt8](repeating: 0, count: 32 - b.count) + b
      self = .zero
      for i in 0..<4 {
        var limb: UInt64 = 0
        for byte in padded[(24 - 8 * i)..<(32 - 8 * i)] { limb = limb << 8 | UInt64(byte) }
        self[i] = limb
      }
    }

    init(hex: String) {
      var bytes: [UInt8] = []
      var chars = Array(hex.filter { !$0.isWhitespace })
      if chars.count % 2 == 1 { chars.insert("0", at: 0) }
      for i in stride(from: 0, to: chars.count, by: 2) {
        bytes.append(UInt8(String(chars[i...i + 1]), radix: 16)!)
      }
      self.init(bigEndian: Data(bytes))
    }

    var bigEndian: Data {
      var out = Data(capacity: 32)
      for i in (0..<4).reversed() {
        let limb = self[i]
        for shift in stride(from: 56, through: 0, by: -8) {
          out.append(UInt8(truncatingIfNeeded: limb >> shift))
        }
      }
      return out
    }

    var isZero: Bool { (l0 | l1 | l2 | l3) == 0 }

    func bit(_ i: Int) -> Bool { self[i / 64] >> UInt64(i % 64) & 1 == 1 }

    static func < (a: U256, b: U256) -> Bool {
      if a.l3 != b.l3 { return a.l3 < b.l3 }
      if a.l2 != b.l2 { return a.l2 < b.l2 }
      if a.l1 != b.l1 { return a.l1 < b.l1 }
      return a.l0 < b.l0
    }

    /// a + b and the carry out.
    static func add(_ a: U256, _ b: U256) -> (U256, Bool) {
      var out = U256.zero
      var carry: UInt64 = 0
      for i in 0..<4 {
        let (s1, o1) = a[i].addingReportingOverflow(b[i])
        let (s2, o2) = s1.addingReportingOverflow(carry)
        out[i] = s2
        carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
      }
      return (out, carry != 0)
    }

    /// a − b and the borrow out.
    static func subtract(_ a: U256, _ b: U256) -> (U256, Bool) {
      var out = U256.zero
      var borrow: UInt64 = 0
      for i in 0..<4 {
        let (d1, o1) = a[i].subtractingReportingOverflow(b[i])
        let (d2, o2) = d1.subtractingReportingOverflow(borrow)
        out[i] = d2
        borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
      }
      return (out, borrow != 0)
    }
  }

  // MARK: Arithmetic modulo an odd 256-bit modulus (Montgomery form, R = 2^256)

  struct Modulus: Sendable {
    let m: U256
    /// −m⁻¹ mod 2^64.
    let mInverse: UInt64
    /// R² mod m, to enter Montgomery form.
    let r2: U256

    init(_ m: U256) {
      self.m = m
      var inverse: UInt64 = 1
      for _ in 0..<6 { inverse = inverse &* (2 &- m.l0 &* inverse) }
      mInverse = 0 &- inverse
      // R² mod m by doubling 1 modulo m 512 times.
      var x = U256.one
      for _ in 0..<512 { x = Self.addMod(x, x, m) }
      r2 = x
    }

    static func addMod(_ a: U256, _ b: U256, _ m: U256) -> U256 {
      let (s, carry) = U256.add(a, b)
      if carry || !(s < m) { return U256.subtract(s, m).0 }
      return s
    }

    func add(_ a: U256, _ b: U256) -> U256 { Self.addMod(a, b, m) }

    func subtract(_ a: U256, _ b: U256) -> U256 {
      let (d, borrow) = U256.subtract(a, b)
      return borrow ? U256.add(d, m).0 : d
    }

    /// a·b·R⁻¹ mod m (CIOS, the limbs unrolled).
    func multiply(_ a: U256, _ b: U256) -> U256 {
      var t0: UInt64 = 0
      var t1: UInt64 = 0
      var t2: UInt64 = 0
      var t3: UInt64 = 0
      var t4: UInt64 = 0
      for i in 0..<4 {
        let bi = b[i]
        var c: UInt64
        (t0, c) = Self.multiplyAdd(a.l0, bi, t0, 0)
        (t1, c) = Self.multiplyAdd(a.l1, bi, t1, c)
        (t2, c) = Self.multiplyAdd(a.l2, bi, t2, c)
        (t3, c) = Self.multiplyAdd(a.l3, bi, t3, c)
        let (s, o) = t4.addingReportingOverflow(c)
        t4 = s
        let t5: UInt64 = o ? 1 : 0
        let q = t0 &* mInverse
        (_, c) = Self.multiplyAdd(q, m.l0, t0, 0)
        (t0, c) = Self.multiplyAdd(q, m.l1, t1, c)
        (t1, c) = Self.multiplyAdd(q, m.l2, t2, c)
        (t2, c) = Self.multiplyAdd(q, m.l3, t3, c)
        let (s2, o2) = t4.addingReportingOverflow(c)
        t3 = s2
        t4 = t5 + (o2 ? 1 : 0)
      }
      let result = U256(t0, t1, t2, t3)
      if t4 != 0 || !(result < m) { return U256.subtract(result, m).0 }
      return result
    }

    /// x·y + add + carry as (low, high); cannot overflow 128 bits.
    private static func multiplyAdd(_ x: UInt64, _ y: UInt64, _ add: UInt64, _ carry: UInt64) -> (
      UInt64, UInt64
    ) {
      let (high, low) = x.multipliedFullWidth(by: y)
      let (l1, o1) = low.addingReportingOverflow(add)
      let (l2, o2) = l1.addingReportingOverflow(carry)
      return (l2, high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0))
    }

    func enter(_ a: U256) -> U256 { multiply(reduce(a), r2) }
    func leave(_ a: U256) -> U256 { multiply(a, .one) }
    /// a mod m for a < 2^256 (one subtraction: both moduli here exceed 2^255).
    func reduce(_ a: U256) -> U256 { a < m ? a : U256.subtract(a, m).0 }

    /// a^e in Montgomery form (a in Montgomery form).
    func power(_ a: U256, _ e: U256) -> U256 {
      var result = enter(.one)
      for i in (0..<256).reversed() {
        result = multiply(result, result)
        if e.bit(i) { result = multiply(result, a) }
      }
      return result
    }

    /// a⁻¹ (Fermat: a^(m−2); m is prime), Montgomery form in and out.
    func inverse(_ a: U256) -> U256 { power(a, U256.subtract(m, U256(2, 0, 0, 0)).0) }
  }

  static let p = U256(hex: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F")
  static let n = U256(hex: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141")
  static let field = Modulus(p)
  static let order = Modulus(n)
  static let g = Point(
    x: U256(hex: "79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798"),
    y: U256(hex: "483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8"))

  // MARK: Points

  /// An affine point (ordinary integers).
  struct Point: Equatable, Sendable {
    var x: U256
    var y: U256
  }

  /// A point in Jacobian coordinates, Montgomery form; z = 0 is the point at infinity.
  struct Jacobian {
    var x: U256
    var y: U256
    var z: U256

    static let infinity = Jacobian(x: .zero, y: .zero, z: .zero)
    var isInfinity: Bool { z.isZero }

    init(x: U256, y: U256, z: U256) {
      self.x = x
      self.y = y
      self.z = z
    }

    init(_ p: Point) {
      let f = Secp256k1.field
      self.init(x: f.enter(p.x), y: f.enter(p.y), z: f.enter(.one))
    }

    /// 2P for y² = x³ + 7 (a = 0: dbl-2009-l).
    func doubled() -> Jacobian {
      let f = Secp256k1.field
      if isInfinity || y.isZero { return .infinity }
      let a = f.multiply(x, x)
      let b = f.multiply(y, y)
      let c = f.multiply(b, b)
      let xb = f.add(x, b)
      var d = f.subtract(f.subtract(f.multiply(xb, xb), a), c)
      d = f.add(d, d)
      let e = f.add(f.add(a, a), a)
      let ff = f.multiply(e, e)
      let x3 = f.subtract(ff, f.add(d, d))
      var c8 = f.add(c, c)
      c8 = f.add(c8, c8)
      c8 = f.add(c8, c8)
      let y3 = f.subtract(f.multiply(e, f.subtract(d, x3)), c8)
      let yz = f.multiply(y, z)
      return Jacobian(x: x3, y: y3, z: f.add(yz, yz))
    }

    /// P + Q (add-2007-bl without the doubling shortcut).
    func adding(_ q: Jacobian) -> Jacobian {
      let f = Secp256k1.field
      if isInfinity { return q }
      if q.isInfinity { return self }
      let z1z1 = f.multiply(z, z)
      let z2z2 = f.multiply(q.z, q.z)
      let u1 = f.multiply(x, z2z2)
      let u2 = f.multiply(q.x, z1z1)
      let s1 = f.multiply(f.multiply(y, q.z), z2z2)
      let s2 = f.multiply(f.multiply(q.y, z), z1z1)
      let h = f.subtract(u2, u1)
      let r = f.subtract(s2, s1)
      if h.isZero { return r.isZero ? doubled() : .infinity }
      let hh = f.multiply(h, h)
      let hhh = f.multiply(h, hh)
      let v = f.multiply(u1, hh)
      let x3 = f.subtract(f.subtract(f.multiply(r, r), hhh), f.add(v, v))
      let y3 = f.subtract(f.multiply(r, f.subtract(v, x3)), f.multiply(s1, hhh))
      let z3 = f.multiply(f.multiply(z, q.z), h)
      return Jacobian(x: x3, y: y3, z: z3)
    }

    /// k·P (double and add, most significant bit first).
    func multiplied(by k: U256) -> Jacobian {
      var result = Jacobian.infinity
      for i in (0..<256).reversed() {
        result = result.doubled()
        if k.bit(i) { result = result.adding(self) }
      }
      return result
    }

    /// The affine point; nil at infinity.
    var affine: Point? {
      let f = Secp256k1.field
      guard !isInfinity else { return nil }
      let zInverse = f.inverse(z)
      let z2 = f.multiply(zInverse, zInverse)
      let z3 = f.multiply(z2, zInverse)
      return Point(x: f.leave(f.multiply(x, z2)), y: f.leave(f.multiply(y, z3)))
    }
  }

  /// k·G.
  static func multiplyGenerator(_ k: U256) -> Point? { Jacobian(g).multiplied(by: k).affine }

  // MARK: Keys

  /// A new private key: 32 bytes, a scalar in [1, n−1].
  static func generatePrivateKey() -> Data {
    var generator = SystemRandomNumberGenerator()
    while true {
      let d = U256(generator.next(), generator.next(), generator.next(), generator.next())
      if !d.isZero && d < n { return d.bigEndian }
    }
  }

  /// The scalar of stored private key bytes, if they are one.
  static func scalar(_ privateKey: Data) -> U256? {
    guard privateKey.count == 32 else { return nil }
    let d = U256(bigEndian: privateKey)
    return !d.isZero && d < n ? d : nil
  }

  /// The uncompressed public point 04‖X‖Y.
  static func publicPoint(_ privateKey: Data) -> Data? {
    guard let d = scalar(privateKey), let q = multiplyGenerator(d) else { return nil }
    return Data([0x04]) + q.x.bigEndian + q.y.bigEndian
  }

  // MARK: ECDSA

  /// Signs a digest: a DER ECDSA-Sig-Value (SEQUENCE of r and s), as KMS answers.
  static func sign(digest: Data, privateKey: Data) -> Data? {
    guard let d = scalar(privateKey) else { return nil }
    let o = order
    let e = o.reduce(U256(bigEndian: digest))
    var generator = SystemRandomNumberGenerator()
    while true {
      let k = U256(generator.next(), generator.next(), generator.next(), generator.next())
      guard !k.isZero, k < n, let point = multiplyGenerator(k) else { continue }
      let r = o.reduce(point.x)
      if r.isZero { continue }
      // s = k⁻¹ (e + r·d) mod n, computed in Montgomery form.
      let kInverse = o.inverse(o.enter(k))
      let rd = o.multiply(o.enter(r), o.enter(d))
      let s = o.leave(o.multiply(kInverse, o.add(o.enter(e), rd)))
      if s.isZero { continue }
      return DER.sequence(DER.integer(r.bigEndian) + DER.integer(s.bigEndian))
    }
  }

  /// True when `signature` (DER) is a valid signature of `digest` by the key's public point.
  static func verify(digest: Data, signature: Data, privateKey: Data) -> Bool {
    guard let d = scalar(privateKey), let q = multiplyGenerator(d) else { return false }
    return verify(digest: digest, signature: signature, publicKey: q)
  }

  static func verify(digest: Data, signature: Data, publicKey q: Point) -> Bool {
    guard let (rBytes, sBytes) = DER.signature(signature), rBytes.count <= 32, sBytes.count <= 32 else {
      return false
    }
    let r = U256(bigEndian: rBytes)
    let s = U256(bigEndian: sBytes)
    guard !r.isZero, r < n, !s.isZero, s < n else { return false }
    let o = order
    let e = o.reduce(U256(bigEndian: digest))
    let w = o.inverse(o.enter(s))
    let u1 = o.leave(o.multiply(o.enter(e), w))
    let u2 = o.leave(o.multiply(o.enter(r), w))
    // u1·G + u2·Q in one pass (Shamir's trick): one doubling per bit for both.
    let gj = Jacobian(g)
    let qj = Jacobian(q)
    let both = gj.adding(qj)
    var sum = Jacobian.infinity
    for i in (0..<256).reversed() {
      sum = sum.doubled()
      switch (u1.bit(i), u2.bit(i)) {
      case (true, true): sum = sum.adding(both)
      case (true, false): sum = sum.adding(gj)
      case (false, true): sum = sum.adding(qj)
      case (false, false): break
      }
    }
    guard let point = sum.affine else { return false }
    return o.reduce(point.x) == r
  }

  // MARK: DER

  /// id-ecPublicKey (1.2.840.10045.2.1) and secp256k1 (1.3.132.0.10).
  static let algorithmIdentifier = DER.sequence(
    Data([0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01])
      + Data([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]))

  /// SubjectPublicKeyInfo (RFC 5480) of the key (GetPublicKey).
  static func publicKeyDER(_ privateKey: Data) -> Data? {
    guard let point = publicPoint(privateKey) else { return nil }
    return DER.sequence(algorithmIdentifier + DER.bitString(point))
  }

  /// PKCS#8 PrivateKeyInfo wrapping an RFC 5915 ECPrivateKey with its public key
  /// (GenerateDataKeyPair's PrivateKeyPlaintext).
  static func privateKeyPKCS8(_ privateKey: Data) -> Data? {
    guard scalar(privateKey) != nil, let point = publicPoint(privateKey) else { return nil }
    let ecPrivateKey = DER.sequence(
      Data([0x02, 0x01, 0x01]) + DER.octetString(privateKey) + DER.tagged(0xa1, DER.bitString(point)))
    return DER.sequence(Data([0x02, 0x01, 0x00]) + algorithmIdentifier + DER.octetString(ecPrivateKey))
  }

  /// The private scalar bytes of a PKCS#8 secp256k1 key (ImportKeyMaterial); nil when `der` is not
  /// one.
  static func importPKCS8(_ der: Data) -> Data? {
    guard let info = DER.children(of: der), info.count >= 3, info[0] == Data([0x02, 0x01, 0x00]),
      info[1] == algorithmIdentifier,
      let wrapped = DER.content(info[2]), let ec = DER.children(of: wrapped), ec.count >= 2,
      let raw = DER.content(ec[1]), raw.count == 32, scalar(raw) != nil
    else { return nil }
    return raw
  }

  /// The few DER shapes above.
  enum DER {
    static func length(_ n: Int) -> Data {
      if n < 0x80 { return Data([UInt8(n)]) }
      if n < 0x100 { return Data([0x81, UInt8(n)]) }
      return Data([0x82, UInt8(n >> 8), UInt8(n & 0xff)])
    }

    static func tagged(_ tag: UInt8, _ content: Data) -> Data {
      Data([tag]) + length(content.count) + content
    }
    static func sequence(_ content: Data) -> Data { tagged(0x30, content) }
    static func octetString(_ content: Data) -> Data { tagged(0x04, content) }
    static func bitString(_ content: Data) -> Data { tagged(0x03, Data([0x00]) + content) }

    /// A non-negative INTEGER from big-endian bytes: minimal, with a 0x00 before a high bit.
    static func integer(_ bytes: Data) -> Data {
      var b = bytes.drop { $0 == 0 }
      if b.isEmpty { b = Data([0]) }
      if b.first! & 0x80 != 0 { b = Data([0]) + b }
      return tagged(0x02, Data(b))
    }

    /// One element at the start of `data`: (tag, content, total length).
    static func element(_ data: Data) -> (tag: UInt8, content: Data, size: Int)? {
      let b = [UInt8](data)
      guard b.count >= 2 else { return nil }
      var length = Int(b[1])
      var header = 2
      if length & 0x80 != 0 {
        let count = length & 0x7f
        guard count >= 1, count <= 2, b.count >= 2 + count else { return nil }
        length = b[2..<2 + count].reduce(0) { $0 << 8 | Int($1) }
        header += count
      }
      guard b.count >= header + length else { return nil }
      return (b[0], Data(b[header..<header + length]), header + length)
    }

    static func content(_ data: Data) -> Data? { element(data)?.content }

    /// The encoded children of a SEQUENCE that is the whole of `data`.
    static func children(of data: Data) -> [Data]? {
      guard let outer = element(data), outer.tag == 0x30, outer.size == data.count else { return nil }
      var rest = outer.content
      var out: [Data] = []
      while !rest.isEmpty {
        guard let child = element(rest) else { return nil }
        out.append(Data(rest.prefix(child.size)))
        rest = Data(rest.dropFirst(child.size))
      }
      return out
    }

    /// r and s of a DER ECDSA-Sig-Value, leading zeros dropped; nil when malformed.
    static func signature(_ data: Data) -> (Data, Data)? {
      guard let parts = children(of: data), parts.count == 2,
        let r = element(parts[0]), r.tag == 0x02, let s = element(parts[1]), s.tag == 0x02,
        r.content.first.map({ $0 & 0x80 == 0 }) == true, s.content.first.map({ $0 & 0x80 == 0 }) == true
      else { return nil }
      return (Data(r.content.drop { $0 == 0 }), Data(s.content.drop { $0 == 0 }))
    }
  }
}
