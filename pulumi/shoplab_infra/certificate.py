"""The shop's public name and the certificate the ALB serves it with (stack config
``domainName``, ``certificateArn``, ``hostedZoneId``; pulumi/README.md, "TLS").

Stages 2 and 3 serve the shop over HTTPS only, so they need a name and a certificate for it:
either the stack requests one from ACM (DNS validation; with ``hostedZoneId`` it writes the
validation record into that Route 53 zone, without one the operator adds the record the stack
logs and exports), or ``certificateArn`` names one already issued or imported for the name.
Either way the HTTPS listener is created only once the certificate is issued. A spec that
cannot give a certificate is refused before anything is created. Stage 1 reads only the name
(nginx terminates TLS there, with the certificate Ansible installs)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shoplab_infra.tagging import tags

_DOMAIN = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]")
_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+")
_ZONE_ID = re.compile(r"Z[0-9A-Z]{4,32}")
_WHERE = 'see pulumi/README.md, "TLS"'


@dataclass(frozen=True)
class TlsSpec:
    domain_name: str = ""
    certificate_arn: str = ""
    hosted_zone_id: str = ""

    def __post_init__(self):
        for key, value, shape in (("domainName", self.domain_name, _DOMAIN),
                                  ("certificateArn", self.certificate_arn, _CERTIFICATE_ARN),
                                  ("hostedZoneId", self.hosted_zone_id, _ZONE_ID)):
            if value and not shape.fullmatch(value):
                raise ValueError(f"shoplab:{key} {value!r}: not a {key} ({_WHERE})")
        if self.certificate_arn and self.hosted_zone_id:
            raise ValueError("shoplab:certificateArn and shoplab:hostedZoneId are both set: the "
                             "zone only validates a certificate the stack requests; with your "
                             f"own certificate, remove hostedZoneId ({_WHERE})")

    def require_certificate(self) -> TlsSpec:
        """This spec, when it can give the ALB a certificate; refused otherwise."""
        if not self.domain_name:
            raise ValueError(
                "shoplab:domainName is not set: the load balancer serves the shop over HTTPS "
                "only, under a name of yours (`pulumi config set domainName shop.example.com`). "
                "The stack requests its ACM certificate (DNS validation; set hostedZoneId for "
                "Route 53 to hold the validation record) unless certificateArn names one issued "
                f"or imported for that name ({_WHERE})")
        return self

    def url(self, address: pulumi.Input[str]) -> pulumi.Output[str]:
        """The shop's https URL: its name, or ``address`` when it has none."""
        return pulumi.Output.format("https://{0}/", self.domain_name or address)


@dataclass
class ListenerCertificate:
    arn: pulumi.Output[str]                 # issued: the HTTPS listener waits for it
    validation_records: pulumi.Output | None = None   # [{name, type, value}]; None: certificateArn


def listener_certificate(name: str, spec: TlsSpec, stage: str,
                         opts: pulumi.ResourceOptions) -> ListenerCertificate:
    """The certificate for ``spec.domain_name``: ``spec.certificate_arn``, or an ACM one."""
    if spec.certificate_arn:
        return ListenerCertificate(pulumi.Output.from_input(spec.certificate_arn))
    cert = aws.acm.Certificate(f"{name}-cert", domain_name=spec.domain_name,
                               validation_method="DNS", tags=tags(stage, f"{name}-cert"),
                               opts=opts)
    records = cert.domain_validation_options.apply(lambda options: [
        {"name": o.resource_record_name, "type": o.resource_record_type,
         "value": o.resource_record_value} for o in options])
    if spec.hosted_zone_id:
        option = cert.domain_validation_options[0]    # one name, so exactly one record
        record = aws.route53.Record(
            f"{name}-cert-dns", zone_id=spec.hosted_zone_id, name=option.resource_record_name,
            type=option.resource_record_type, records=[option.resource_record_value], ttl=300,
            allow_overwrite=True, opts=opts)   # the same record for a new cert of that name
        fqdns = [record.fqdn]
    else:
        # the `up` waits below until the operator has added it; say what to add meanwhile
        records.apply(lambda rs: [pulumi.log.info(
            f"add this DNS record for {spec.domain_name}'s certificate: {r['name']} "
            f"{r['type']} {r['value']}", cert) for r in rs])
        fqdns = None
    validation = aws.acm.CertificateValidation(f"{name}-cert-validation",
                                               certificate_arn=cert.arn,
                                               validation_record_fqdns=fqdns, opts=opts)
    return ListenerCertificate(validation.certificate_arn, records)
