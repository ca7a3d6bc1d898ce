import Foundation
import KMSModel
import NIOCore

/// The services a target prefix belongs to.
public enum WireService: String, Sendable {
  /// `TrentService.<Op>`: KMS, signing name `kms`, errors with `message`.
  case kms = "TrentService"
  /// `BaldrApiService.<Op>`: the CloudHSM v2 subset, signing name `cloudhsm`, errors with `Message`.
  case cloudHSM = "BaldrApiService"
  /// `KmsdashSimulator.<Op>`: the fault target, signing name `kms`, errors with `message`.
  case simulator = "KmsdashSimulator"

  /// The SigV4 signing name(s) accepted in the credential scope.
  var signingNames: Set<String> {
    switch self {
    case .kms, .simulator: ["kms"]
    case .cloudHSM: ["cloudhsm"]
    }
  }

  /// The member that carries an error's text.
  var messageKey: String { self == .cloudHSM ? "Message" : "message" }
}

/// One operation: decode the body, validate, call the backend, encode the result.
struct Operation: Sendable {
  var service: WireService
  var name: String
  var run: @Sendable (_ body: ByteBuffer, _ backend: KMSBackend) async throws -> ByteBuffer
  /// The same operation answered at once from the backend's committed state (hot reads only).
  /// It may throw anything: the caller then answers the request through `run` instead, so every
  /// error on the wire comes from one place.
  var immediate: (@Sendable (_ body: ByteBuffer, _ reads: any ImmediateKeyReads) throws -> ByteBuffer)?
}

/// Shared coders (`JSONEncoder`/`JSONDecoder` are thread-safe to use concurrently).
enum Coders {
  static let decoder = WireJSON.decoder()
  static let encoder = WireJSON.encoder()
}

private func decode<Request: Decodable & AWSValidatable>(_ type: Request.Type, _ body: ByteBuffer) throws
  -> Request
{
  let request: Request
  do {
    if body.readableBytes == 0 {
      request = try Coders.decoder.decode(Request.self, from: Data("{}".utf8))
    } else {
      if let problem = StrictJSON.problem(in: body.readableBytesView) {
        throw WireError.serialization("The request body is not valid JSON: \(problem).")
      }
      request = try Coders.decoder.decode(Request.self, from: Data(body.readableBytesView))
    }
  } catch let error as DecodingError {
    throw WireError.decoding(error)
  }
  try request.validate()
  return request
}

private func encode(_ response: some Encodable) throws -> ByteBuffer {
  if let fast = response as? any FastWireEncodable {
    var writer = JSONBytesWriter(capacity: 1024)
    fast.writeJSON(to: &writer)
    return ByteBuffer(bytes: writer.bytes)
  }
  return ByteBuffer(data: try Coders.encoder.encode(response))
}

private func kms<Request: Decodable & AWSValidatable & Sendable, Response: Encodable & Sendable>(
  _ name: String, _ call: @escaping @Sendable (any KeyStoreService, Request) async throws -> Response
) -> Operation {
  Operation(service: .kms, name: name) { body, backend in
    let request = try decode(Request.self, body)
    return try encode(try await call(backend.service, request))
  }
}

/// A hot read: `call` through the actor, `now` from the committed read view without a hop.
private func kms<Request: Decodable & AWSValidatable & Sendable, Response: Encodable & Sendable>(
  _ name: String, now: @escaping @Sendable (any ImmediateKeyReads, Request) throws -> Response,
  _ call: @escaping @Sendable (any KeyStoreService, Request) async throws -> Response
) -> Operation {
  var operation = kms(name, call)
  operation.immediate = { body, reads in
    let request = try decode(Request.self, body)
    return try encode(try now(reads, request))
  }
  return operation
}

private func control<Request: Decodable & AWSValidatable & Sendable, Response: Encodable & Sendable>(
  _ service: WireService, _ name: String,
  _ call: @escaping @Sendable (any SimulatorControl, Request) async throws -> Response
) -> Operation {
  Operation(service: service, name: name) { body, backend in
    guard let control = backend.control else {
      throw WireError(
        KMSErrorCode.unsupportedOperationException.rawValue,
        "This endpoint does not offer \(service.rawValue).\(name).")
    }
    let request = try decode(Request.self, body)
    return try encode(try await call(control, request))
  }
}

extension ByteBuffer {
  fileprivate init(data: Data) {
    self.init(bytes: data)
  }
}

/// Every operation by its full `X-Amz-Target`.
let operationTable: [String: Operation] = {
  let operations: [Operation] = [
    kms("CreateCustomKeyStore") { try await $0.createCustomKeyStore($1 as CreateCustomKeyStoreRequest) },
    kms("DescribeCustomKeyStores") {
      try await $0.describeCustomKeyStores($1 as DescribeCustomKeyStoresRequest)
    },
    kms("ConnectCustomKeyStore") { try await $0.connectCustomKeyStore($1 as ConnectCustomKeyStoreRequest) },
    kms("DisconnectCustomKeyStore") {
      try await $0.disconnectCustomKeyStore($1 as DisconnectCustomKeyStoreRequest)
    },
    kms("UpdateCustomKeyStore") { try await $0.updateCustomKeyStore($1 as UpdateCustomKeyStoreRequest) },
    kms("DeleteCustomKeyStore") { try await $0.deleteCustomKeyStore($1 as DeleteCustomKeyStoreRequest) },
    kms("CreateKey") { try await $0.createKey($1 as CreateKeyRequest) },
    kms("DescribeKey", now: { try $0.describeKeyNow($1 as DescribeKeyRequest) }) {
      try await $0.describeKey($1 as DescribeKeyRequest)
    },
    kms("ListKeys") { try await $0.listKeys($1 as ListKeysRequest) },
    kms("EnableKey") { try await $0.enableKey($1 as EnableKeyRequest) },
    kms("DisableKey") { try await $0.disableKey($1 as DisableKeyRequest) },
    kms("ScheduleKeyDeletion") { try await $0.scheduleKeyDeletion($1 as ScheduleKeyDeletionRequest) },
    kms("CancelKeyDeletion") { try await $0.cancelKeyDeletion($1 as CancelKeyDeletionRequest) },
    kms("CreateAlias") { try await $0.createAlias($1 as CreateAliasRequest) },
    kms("DeleteAlias") { try await $0.deleteAlias($1 as DeleteAliasRequest) },
    kms("ListAliases") { try await $0.listAliases($1 as ListAliasesRequest) },
    kms("Encrypt", now: { try $0.encryptNow($1 as EncryptRequest) }) {
      try await $0.encrypt($1 as EncryptRequest)
    },
    kms("Decrypt", now: { try $0.decryptNow($1 as DecryptRequest) }) {
      try await $0.decrypt($1 as DecryptRequest)
    },
    kms("ReEncrypt") { try await $0.reEncrypt($1 as ReEncryptRequest) },
    kms("GenerateDataKey", now: { try $0.generateDataKeyNow($1 as GenerateDataKeyRequest) }) {
      try await $0.generateDataKey($1 as GenerateDataKeyRequest)
    },
    kms("GenerateDataKeyWithoutPlaintext") {
      try await $0.generateDataKeyWithoutPlaintext($1 as GenerateDataKeyWithoutPlaintextRequest)
    },
    kms("GenerateRandom", now: { try $0.generateRandomNow($1 as GenerateRandomRequest) }) {
      try await $0.generateRandom($1 as GenerateRandomRequest)
    },
    kms("TagResource") { try await $0.tagResource($1 as TagResourceRequest) },
    kms("UntagResource") { try await $0.untagResource($1 as UntagResourceRequest) },
    kms("ListResourceTags") { try await $0.listResourceTags($1 as ListResourceTagsRequest) },
    kms("GetKeyPolicy") { try await $0.getKeyPolicy($1 as GetKeyPolicyRequest) },
    kms("PutKeyPolicy") { try await $0.putKeyPolicy($1 as PutKeyPolicyRequest) },
    kms("ListKeyPolicies") { try await $0.listKeyPolicies($1 as ListKeyPoliciesRequest) },
    kms("CreateGrant") { try await $0.createGrant($1 as CreateGrantRequest) },
    kms("ListGrants") { try await $0.listGrants($1 as ListGrantsRequest) },
    kms("ListRetirableGrants") { try await $0.listRetirableGrants($1 as ListRetirableGrantsRequest) },
    kms("RetireGrant") { try await $0.retireGrant($1 as RetireGrantRequest) },
    kms("RevokeGrant") { try await $0.revokeGrant($1 as RevokeGrantRequest) },
    kms("EnableKeyRotation") { try await $0.enableKeyRotation($1 as EnableKeyRotationRequest) },
    kms("DisableKeyRotation") { try await $0.disableKeyRotation($1 as DisableKeyRotationRequest) },
    kms("GetKeyRotationStatus") { try await $0.getKeyRotationStatus($1 as GetKeyRotationStatusRequest) },
    kms("RotateKeyOnDemand") { try await $0.rotateKeyOnDemand($1 as RotateKeyOnDemandRequest) },
    kms("ListKeyRotations") { try await $0.listKeyRotations($1 as ListKeyRotationsRequest) },
    kms("UpdateAlias") { try await $0.updateAlias($1 as UpdateAliasRequest) },
    kms("UpdateKeyDescription") { try await $0.updateKeyDescription($1 as UpdateKeyDescriptionRequest) },
    kms("GetKeyLastUsage") { try await $0.getKeyLastUsage($1 as GetKeyLastUsageRequest) },
    kms("GetParametersForImport") {
      try await $0.getParametersForImport($1 as GetParametersForImportRequest)
    },
    kms("ImportKeyMaterial") { try await $0.importKeyMaterial($1 as ImportKeyMaterialRequest) },
    kms("DeleteImportedKeyMaterial") {
      try await $0.deleteImportedKeyMaterial($1 as DeleteImportedKeyMaterialRequest)
    },
    kms("ReplicateKey") { try await $0.replicateKey($1 as ReplicateKeyRequest) },
    kms("UpdatePrimaryRegion") { try await $0.updatePrimaryRegion($1 as UpdatePrimaryRegionRequest) },
    kms("GetPublicKey") { try await $0.getPublicKey($1 as GetPublicKeyRequest) },
    kms("Sign") { try await $0.sign($1 as SignRequest) },
    kms("Verify") { try await $0.verify($1 as VerifyRequest) },
    kms("GenerateMac") { try await $0.generateMac($1 as GenerateMacRequest) },
    kms("VerifyMac") { try await $0.verifyMac($1 as VerifyMacRequest) },
    kms("DeriveSharedSecret") { try await $0.deriveSharedSecret($1 as DeriveSharedSecretRequest) },
    kms("GenerateDataKeyPair") { try await $0.generateDataKeyPair($1 as GenerateDataKeyPairRequest) },
    kms("GenerateDataKeyPairWithoutPlaintext") {
      try await $0.generateDataKeyPairWithoutPlaintext($1 as GenerateDataKeyPairWithoutPlaintextRequest)
    },

    control(.cloudHSM, "DescribeClusters") { try await $0.describeClusters($1 as DescribeClustersRequest) },
    control(.cloudHSM, "CreateHsm") { try await $0.createHsm($1 as CreateHsmRequest) },
    control(.cloudHSM, "DeleteHsm") { try await $0.deleteHsm($1 as DeleteHsmRequest) },

    control(.simulator, SimulatorOperation.listFaults.rawValue) { control, request in
      let request = request as ListFaultsRequest
      return ListFaultsResponse.make(
        clusterId: request.clusterId, faults: try await control.faults(clusterId: request.clusterId))
    },
    control(.simulator, SimulatorOperation.setFault.rawValue) { control, request in
      let request = request as SetFaultRequest
      let fault = SimulatorFault(rawValue: request.fault)!  // validated
      try await control.setFault(fault, enabled: request.enabled ?? true, clusterId: request.clusterId)
      return ListFaultsResponse.make(
        clusterId: request.clusterId, faults: try await control.faults(clusterId: request.clusterId))
    },
    control(.simulator, SimulatorOperation.clearFault.rawValue) { control, request in
      let request = request as SetFaultRequest
      let fault = SimulatorFault(rawValue: request.fault)!  // validated
      try await control.setFault(fault, enabled: false, clusterId: request.clusterId)
      return ListFaultsResponse.make(
        clusterId: request.clusterId, faults: try await control.faults(clusterId: request.clusterId))
    },
    control(.simulator, SimulatorOperation.setHsmFailed.rawValue) { control, request in
      let request = request as SetHsmFailedRequest
      try await control.setHsmFailed(
        clusterId: request.clusterId, hsmId: request.hsmId, failed: request.failed ?? true)
      return EmptyResponse()
    },
    control(.simulator, SimulatorOperation.setKmsuserPassword.rawValue) { control, request in
      let request = request as SetKmsuserPasswordRequest
      try await control.setKmsuserPassword(request.password, clusterId: request.clusterId)
      return EmptyResponse()
    },
    control(.simulator, SimulatorOperation.predictConnectOutcome.rawValue) { control, request in
      let request = request as PredictConnectOutcomeRequest
      return PredictConnectOutcomeResponse(
        try await control.predictConnectOutcome(customKeyStoreId: request.customKeyStoreId))
    },
    control(.simulator, SimulatorOperation.describeXksHealth.rawValue) { control, request in
      let request = request as DescribeXksHealthRequest
      return DescribeXksHealthResponse(
        xksHealth: try await control.xksHealth(customKeyStoreIds: request.customKeyStoreIds))
    },
    control(.simulator, SimulatorOperation.listXksProxyFaults.rawValue) { control, request in
      let request = request as ListXksProxyFaultsRequest
      return ListXksProxyFaultsResponse(
        customKeyStoreId: request.customKeyStoreId,
        faults: try await control.xksFaults(customKeyStoreId: request.customKeyStoreId))
    },
    control(.simulator, SimulatorOperation.listXksVpcEndpointServices.rawValue) { control, request in
      _ = request as ListXksVpcEndpointServicesRequest
      return ListXksVpcEndpointServicesResponse(
        vpcEndpointServices: try await control.xksVpcEndpointServices())
    },
    control(.simulator, SimulatorOperation.setXksVpcEndpointServiceFault.rawValue) { control, request in
      let request = request as SetXksVpcEndpointServiceFaultRequest
      let fault = XKSVPCEndpointServiceFault(rawValue: request.fault)!  // validated
      return SetXksVpcEndpointServiceFaultResponse(
        vpcEndpointService: try await control.setXKSVPCEndpointServiceFault(
          fault, enabled: request.enabled ?? true, serviceName: request.serviceName))
    },
    control(.simulator, SimulatorOperation.setXksProxyFault.rawValue) { control, request in
      let request = request as SetXksProxyFaultRequest
      let fault = XKSQAFault(rawValue: request.fault)!  // validated
      try await control.setXKSFault(
        fault, enabled: request.enabled ?? true, customKeyStoreId: request.customKeyStoreId)
      return ListXksProxyFaultsResponse(
        customKeyStoreId: request.customKeyStoreId,
        faults: try await control.xksFaults(customKeyStoreId: request.customKeyStoreId))
    },
  ]
  var table: [String: Operation] = [:]
  for operation in operations { table["\(operation.service.rawValue).\(operation.name)"] = operation }
  return table
}()

/// The operations of `operationTable` that can be answered at once, by the same target.
let immediateOperationTable: [String: Operation] = operationTable.filter { $0.value.immediate != nil }
