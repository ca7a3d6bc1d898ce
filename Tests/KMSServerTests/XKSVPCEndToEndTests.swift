import Foundation
import Testing

/// `VPC_ENDPOINT_SERVICE` connectivity end to end: `kmsdash serve --scenario` with a simulated VPC
/// endpoint service, `--xks-route` from its private DNS name to `kmsdash xks-proxy`, boto3 for
/// KMS and for the simulator's break/mend controls (`KmsdashSimulator.*XksVpcEndpointService*`).
@Suite(
  "XKS VPC endpoint services with boto3", .serialized,
  .enabled(if: Conformance.enabled, Comment(rawValue: Conformance.installHint)))
struct XKSVPCEndToEndTests {
  @Test("boto3: create and update checks, connect codes, break and mend, crypto through the route")
  func vpcEndpointServiceSession() async throws {
    try Conformance.requireTools()
    let proxy = try await XKSProxyProcess()
    defer { proxy.stop() }
    let scenario = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-vpc-\(UUID().uuidString.prefix(8)).json")
    try Data(
      #"""
      {"description": "one VPC endpoint service for XKS", "clusters": [], "stores": [],
       "xksVpcEndpointServices": [
         {"serviceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
          "privateDnsName": "xks-vpc.example.com"},
         {"serviceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0aaaabbbbccccdddd",
          "privateDnsName": "xks-vpc2.example.com", "acceptanceRequired": true}]}
      """#.utf8
    ).write(to: scenario)
    defer { try? FileManager.default.removeItem(at: scenario) }
    let server = try await ServerProcess(arguments: [
      "--scenario", scenario.path, "--xks-route", "xks-vpc.example.com=\(proxy.url)",
    ])
    defer { server.stop() }
    let output = try await server.python(
      """
      import urllib.request
      from botocore.auth import SigV4Auth
      from botocore.awsrequest import AWSRequest

      SERVICE = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
      CREDENTIAL = {"AccessKeyId": "KMSDASHDEMOXKSACCESSKEY2",
                    "RawSecretAccessKey": "kmsdashDemoXksSecretKey0123456789abcdefghijk"}

      def simulator(operation, body):
          request = AWSRequest(method="POST", url=ENDPOINT + "/", data=json.dumps(body).encode(),
                               headers={"Content-Type": "application/x-amz-json-1.1",
                                        "X-Amz-Target": "KmsdashSimulator." + operation})
          SigV4Auth(boto3.Session().get_credentials(), "kms", REGION).add_auth(request)
          sent = urllib.request.Request(ENDPOINT + "/", data=request.body, headers=dict(request.headers),
                                        method="POST")
          with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sent) as answer:
              return json.loads(answer.read())

      def service_fault(fault, enabled):
          answer = simulator("SetXksVpcEndpointServiceFault",
                             {"ServiceName": SERVICE, "Fault": fault, "Enabled": enabled})
          assert (fault in answer["VpcEndpointService"]["Faults"]) == enabled, answer

      def create(name, **change):
          params = dict(CustomKeyStoreName=name, CustomKeyStoreType="EXTERNAL_KEY_STORE",
                        XksProxyUriEndpoint="https://xks-vpc.example.com", XksProxyUriPath="/demo/kms/xks/v1",
                        XksProxyConnectivity="VPC_ENDPOINT_SERVICE", XksProxyVpcEndpointServiceName=SERVICE,
                        XksProxyAuthenticationCredential=CREDENTIAL)
          params.update(change)
          return kms.create_custom_key_store(**params)

      listed = simulator("ListXksVpcEndpointServices", {})["VpcEndpointServices"]
      assert [s["ServiceName"] for s in listed] == [SERVICE, "com.amazonaws.vpce.us-east-1.vpce-svc-0aaaabbbbccccdddd"], listed
      assert listed[0]["AllowedPrincipals"] == ["cks.kms.us-east-1.amazonaws.com"], listed

      # Create checks the endpoint service as KMS does.
      expect_error("XksProxyVpcEndpointServiceNotFoundException", create, name="unknown",
                   XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0000000000000000f")
      expect_error("XksProxyVpcEndpointServiceInvalidConfigurationException", create, name="acceptance",
                   XksProxyUriEndpoint="https://xks-vpc2.example.com",
                   XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0aaaabbbbccccdddd")
      expect_error("XksProxyVpcEndpointServiceInvalidConfigurationException", create, name="wrong-host",
                   XksProxyUriEndpoint="https://elsewhere.example.com")
      service_fault("KMS_PRINCIPAL_NOT_ALLOWED", True)
      expect_error("XksProxyVpcEndpointServiceNotFoundException", create, name="denied")
      service_fault("KMS_PRINCIPAL_NOT_ALLOWED", False)
      store_id = create("xks-vpc")["CustomKeyStoreId"]
      entry = store(store_id)
      assert entry["XksProxyConfiguration"]["Connectivity"] == "VPC_ENDPOINT_SERVICE", entry
      assert entry["XksProxyConfiguration"]["VpcEndpointServiceName"] == SERVICE, entry
      # One store per service.
      expect_error("XksProxyVpcEndpointServiceInUseException", create, name="again",
                   XksProxyUriEndpoint="https://xks-vpc3.example.com")
      expect_error("XksProxyUriEndpointInUseException", create, name="same-host", XksProxyUriPath="/z/kms/xks/v1",
                   XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0aaaabbbbccccdddd")

      # Connect through the route; a key double-encrypts through the proxy.
      kms.connect_custom_key_store(CustomKeyStoreId=store_id)
      wait_state(store_id, "CONNECTED")
      key = kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="demo-aes-1")["KeyMetadata"]
      blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"through the vpc")["CiphertextBlob"]
      assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"through the vpc"

      # Break the service: the next connect fails with the VPC code; mend it: connected again.
      for fault, code in [("DELETED", "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND"),
                          ("KMS_PRINCIPAL_NOT_ALLOWED", "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND"),
                          ("PRIVATE_DNS_UNVERIFIED", "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION"),
                          ("ACCEPTANCE_REQUIRED", "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION"),
                          ("SINGLE_AVAILABILITY_ZONE", "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION")]:
          if store(store_id)["ConnectionState"] != "DISCONNECTED":
              kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
              wait_state(store_id, "DISCONNECTED")
          service_fault(fault, True)
          kms.connect_custom_key_store(CustomKeyStoreId=store_id)
          entry, _ = wait_state(store_id, "FAILED")
          assert entry.get("ConnectionErrorCode") == code, (fault, entry)
          service_fault(fault, False)
      kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
      wait_state(store_id, "DISCONNECTED")

      # The same through `kmsdash fault --vpc-endpoint-service` (KMSClient, signed from the env).
      def vpc_fault(*args):
          result = subprocess.run([os.environ["KMSDASH_BINARY"], "fault", "--endpoint", ENDPOINT, *args],
                                  capture_output=True, text=True, timeout=60)
          assert result.returncode == 0, f"kmsdash fault {args}: {result.returncode} {result.stderr}"
          return result.stdout
      listed = vpc_fault("--vpc-endpoint-service", "all", "--list")
      assert SERVICE in listed and "xks-vpc.example.com" in listed, listed
      assert "usable: KMS can connect" in listed and "requires acceptance" in listed, listed
      assert "SINGLE_AVAILABILITY_ZONE" in listed, listed
      for name, fault_name, code in [("private-dns-unverified", "PRIVATE_DNS_UNVERIFIED",
                                      "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION"),
                                     ("deleted", "DELETED", "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND")]:
          out = vpc_fault("--vpc-endpoint-service", SERVICE, "--set", name)
          assert f"Set {fault_name} on {SERVICE}." in out and f"connect fails: {code}" in out, out
          faults = simulator("ListXksVpcEndpointServices", {})["VpcEndpointServices"][0]["Faults"]
          assert faults == [fault_name], faults
          kms.connect_custom_key_store(CustomKeyStoreId=store_id)
          entry, _ = wait_state(store_id, "FAILED")
          assert entry.get("ConnectionErrorCode") == code, (name, entry)
          kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
          wait_state(store_id, "DISCONNECTED")
          out = vpc_fault("--vpc-endpoint-service", SERVICE, "--clear", fault_name)
          assert f"Cleared {fault_name}" in out and "faults: none" in out and "usable" in out, out
      def fault_fails(*args):
          result = subprocess.run([os.environ["KMSDASH_BINARY"], "fault", "--endpoint", ENDPOINT, *args],
                                  capture_output=True, text=True, timeout=60)
          assert result.returncode != 0, (args, result.stdout)
          return result.stderr
      err = fault_fails("--vpc-endpoint-service", SERVICE, "--set", "melted")
      assert "Unknown VPC endpoint service fault 'melted'" in err and "DELETED" in err, err
      err = fault_fails("--vpc-endpoint-service", "com.amazonaws.vpce.us-east-1.vpce-svc-0000000000000000f",
                        "--set", "DELETED")
      assert "An error occurred (" in err, err
      assert simulator("ListXksVpcEndpointServices", {})["VpcEndpointServices"][0]["Faults"] == []

      # Update to a service that breaks a requirement is refused; the store keeps its service.
      expect_error("XksProxyVpcEndpointServiceInvalidConfigurationException", kms.update_custom_key_store,
                   CustomKeyStoreId=store_id, XksProxyUriEndpoint="https://xks-vpc2.example.com",
                   XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0aaaabbbbccccdddd")
      assert store(store_id)["XksProxyConfiguration"]["VpcEndpointServiceName"] == SERVICE
      kms.connect_custom_key_store(CustomKeyStoreId=store_id)
      wait_state(store_id, "CONNECTED")
      assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"through the vpc"
      print("ok")
      """, name: "xks-vpc")
    #expect(
      output.status == 0,
      "python exit \(output.status)\n\(output.stdout)\n\(output.stderr)\n\(proxy.log.suffix(2000))")
  }
}
