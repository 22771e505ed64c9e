"""TLS at the edge of stages 2 and 3: the ALB's certificate (requested from ACM with DNS
validation, or the operator's), its HTTPS listener with edge/tls.py's policy and HSTS, the
HTTP listener that only redirects, /metrics answered by the ALB itself, and the config
refused before anything is created. Stage 1's nginx holds its own certificate (Ansible): here only its url output."""
import json

import pytest

from edge import tls
from stack_harness import OPERATOR_CONFIG, run_stack

ALB_STAGES = ("stage2", "stage3")
LISTENER = "aws:lb/listener:Listener"
CERT = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
DOMAIN = OPERATOR_CONFIG["shoplab:domainName"]
ZONE = "Z0123456789ABCDEFGHIJ"
OWN_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def _listeners(run) -> dict:
    return {listener.inputs["protocol"]: listener.inputs
            for listener in run.mocks.of_type(LISTENER)}


@pytest.mark.parametrize("stage", ALB_STAGES)
def test_https_listener_forwards_with_the_edge_policy_and_hsts(stacks, stage):
    https = _listeners(stacks[stage])["HTTPS"]
    assert https["port"] == tls.HTTPS_PORT
    assert https["sslPolicy"] == tls.ALB_SSL_POLICY
    assert https["routingHttpResponseStrictTransportSecurityHeaderValue"] == tls.HSTS
    assert https["certificateArn"].endswith(":web-cert")
    assert https["defaultActions"] == [{"type": "forward", "targetGroupArn": https[
        "defaultActions"][0]["targetGroupArn"]}]
    assert https["defaultActions"][0]["targetGroupArn"].endswith(":web-tg")


@pytest.mark.parametrize("stage", ALB_STAGES)
def test_http_listener_only_redirects_to_https(stacks, stage):
    http = _listeners(stacks[stage])["HTTP"]
    assert http["port"] == tls.HTTP_PORT
    assert http["defaultActions"] == [{"type": "redirect", "redirect": {
        "protocol": "HTTPS", "port": str(tls.HTTPS_PORT), "statusCode": "HTTP_301"}}]
    assert "routingHttpResponseStrictTransportSecurityHeaderValue" not in http


@pytest.mark.parametrize("stage", ALB_STAGES)
def test_metrics_never_reach_a_target_from_the_internet(stacks, stage):
    [rule] = stacks[stage].mocks.of_type("aws:lb/listenerRule:ListenerRule")
    assert rule.inputs["listenerArn"].endswith(":web-https")
    assert rule.inputs["priority"] == 1       # before any other rule
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/metrics", "/metrics/*"]}}]
    [action] = rule.inputs["actions"]
    assert action["type"] == "fixed-response"
    answer = action["fixedResponse"]
    assert (answer["statusCode"], answer["contentType"]) == ("404", "application/json")
    body = json.loads(answer["messageBody"])      # the app's error envelope (app/errors.py)
    assert body["success"] is False and body["error"]["code"] == "NOT_FOUND"
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]


@pytest.mark.parametrize("stage", ALB_STAGES)
def test_certificate_requested_for_the_domain_and_records_for_the_operator(stacks, stage):
    run = stacks[stage]
    [cert] = run.mocks.of_type(CERT)
    assert (cert.inputs["domainName"], cert.inputs["validationMethod"]) == (DOMAIN, "DNS")
    assert "subjectAlternativeNames" not in cert.inputs       # one validation record
    # no zone: nothing in Route 53; the validation still waits for the issued certificate
    assert not run.mocks.of_type(RECORD)
    [validation] = run.mocks.of_type(VALIDATION)
    assert validation.inputs["certificateArn"].endswith(":web-cert")
    assert "validationRecordFqdns" not in validation.inputs
    assert run.outputs["url"] == f"https://{DOMAIN}/"
    assert run.outputs["alb_dns_name"].endswith(".elb.amazonaws.com")
    assert run.outputs["certificate_validation_records"] == [
        {"name": f"_0a1b2c3d.{DOMAIN}.", "type": "CNAME",
         "value": "_4e5f6a7b.xlfgrmvvlj.acm-validations.aws."}]


@pytest.mark.parametrize("stage", ALB_STAGES)
def test_hosted_zone_holds_the_validation_record(stage):
    run = run_stack(stage, {"shoplab:hostedZoneId": ZONE})
    [record] = run.mocks.of_type(RECORD)
    assert (record.inputs["zoneId"], record.inputs["type"]) == (ZONE, "CNAME")
    assert record.inputs["name"] == f"_0a1b2c3d.{DOMAIN}."
    assert record.inputs["records"] == ["_4e5f6a7b.xlfgrmvvlj.acm-validations.aws."]
    [validation] = run.mocks.of_type(VALIDATION)
    assert validation.inputs["validationRecordFqdns"] == [f"_0a1b2c3d.{DOMAIN}"]


@pytest.mark.parametrize("stage", ALB_STAGES)
def test_own_certificate_skips_acm(stage):
    run = run_stack(stage, {"shoplab:certificateArn": OWN_CERT})
    assert not (run.mocks.of_type(CERT) or run.mocks.of_type(VALIDATION)
                or run.mocks.of_type(RECORD))
    assert _listeners(run)["HTTPS"]["certificateArn"] == OWN_CERT
    assert "certificate_validation_records" not in run.outputs
    assert run.outputs["url"] == f"https://{DOMAIN}/"


@pytest.mark.parametrize("stage", ALB_STAGES)
@pytest.mark.parametrize("overrides,drop,message", [
    ({}, ("shoplab:domainName",), "shoplab:domainName is not set: the load balancer serves"),
    ({"shoplab:certificateArn": OWN_CERT}, ("shoplab:domainName",),
     "shoplab:domainName is not set"),
    ({"shoplab:certificateArn": OWN_CERT, "shoplab:hostedZoneId": ZONE}, (),
     "certificateArn and shoplab:hostedZoneId are both set"),
    ({"shoplab:domainName": "https://shop.example.com/"}, (), "domainName 'https://"),
    ({"shoplab:certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}, (),
     "certificateArn 'arn:aws:iam"),
    ({"shoplab:hostedZoneId": "example.com"}, (), "hostedZoneId 'example.com'"),
])
def test_no_certificate_no_stack(stage, overrides, drop, message):
    """Refused before anything is created: there is no way to serve the shop in clear text."""
    with pytest.raises(ValueError, match=message):
        run_stack(stage, overrides, drop=drop)


def test_stage1_refuses_a_malformed_domain_and_needs_none():
    with pytest.raises(ValueError, match="domainName 'shop'"):
        run_stack("stage1", {"shoplab:domainName": "shop"})
