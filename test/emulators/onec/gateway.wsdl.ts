/**
 * The WSDL of the configuration's "Gateway" web service, as 1C publishes it (document/literal,
 * the configuration's namespace, results wrapped in `<return>` like every 1C operation).
 */

export const GATEWAY_NS = 'http://www.1c.ru/gateway/payments';

export function gatewayWsdl(location: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="${GATEWAY_NS}"
    name="Gateway"
    targetNamespace="${GATEWAY_NS}">
  <types>
    <xs:schema targetNamespace="${GATEWAY_NS}" elementFormDefault="qualified" attributeFormDefault="unqualified">
      <xs:complexType name="PaymentResult">
        <xs:sequence>
          <xs:element name="Ref" type="xs:string"/>
          <xs:element name="Number" type="xs:string"/>
          <xs:element name="Posted" type="xs:boolean"/>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="FindResult">
        <xs:sequence>
          <xs:element name="Found" type="xs:boolean"/>
          <xs:element name="Ref" type="xs:string"/>
          <xs:element name="Number" type="xs:string"/>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="RegisterPayment">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="PaymentId" type="xs:string"/>
            <xs:element name="Kind" type="xs:string"/>
            <xs:element name="Method" type="xs:string"/>
            <xs:element name="OrderRef" type="xs:string" nillable="true"/>
            <xs:element name="OrderNumber" type="xs:string"/>
            <xs:element name="Amount" type="xs:decimal"/>
            <xs:element name="Date" type="xs:dateTime"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="RegisterPaymentResponse">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="return" type="tns:PaymentResult"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="FindPayment">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="PaymentId" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="FindPaymentResponse">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="return" type="tns:FindResult"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
    </xs:schema>
  </types>
  <message name="RegisterPaymentRequestMessage">
    <part name="parameters" element="tns:RegisterPayment"/>
  </message>
  <message name="RegisterPaymentResponseMessage">
    <part name="parameters" element="tns:RegisterPaymentResponse"/>
  </message>
  <message name="FindPaymentRequestMessage">
    <part name="parameters" element="tns:FindPayment"/>
  </message>
  <message name="FindPaymentResponseMessage">
    <part name="parameters" element="tns:FindPaymentResponse"/>
  </message>
  <portType name="GatewayPortType">
    <operation name="RegisterPayment">
      <input message="tns:RegisterPaymentRequestMessage"/>
      <output message="tns:RegisterPaymentResponseMessage"/>
    </operation>
    <operation name="FindPayment">
      <input message="tns:FindPaymentRequestMessage"/>
      <output message="tns:FindPaymentResponseMessage"/>
    </operation>
  </portType>
  <binding name="GatewaySoapBinding" type="tns:GatewayPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="RegisterPayment">
      <soap:operation style="document" soapAction="${GATEWAY_NS}#Gateway:RegisterPayment"/>
      <input><soap:body use="literal"/></input>
      <output><soap:body use="literal"/></output>
    </operation>
    <operation name="FindPayment">
      <soap:operation style="document" soapAction="${GATEWAY_NS}#Gateway:FindPayment"/>
      <input><soap:body use="literal"/></input>
      <output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="Gateway">
    <port name="GatewaySoap" binding="tns:GatewaySoapBinding">
      <soap:address location="${location}"/>
    </port>
  </service>
</definitions>
`;
}
