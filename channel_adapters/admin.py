"""The admin service: publish a rule set, roll it back, list what was active when."""

from __future__ import annotations

import grpc
from foureyes.gateway.gateway import Gateway
from foureyes.gateway.rule_registry import Activation
from foureyes.protos import foureyes_pb2 as pb


def _version(a: Activation, active: str) -> pb.RuleSetVersion:
    return pb.RuleSetVersion(version=a.version, activated_at=a.at, comment=a.comment,
                             trigger_rules=a.trigger_rules, active=a.version == active)


class AdminAdapter:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def PublishRules(self, request: pb.PublishRulesRequest,
                           context: grpc.aio.ServicerContext) -> pb.RuleSetVersion:
        files = {f.name: f.content for f in request.files}
        activation = self.gateway.publish_rules(files, request.comment)
        return _version(activation, self.gateway.book.version)

    async def RollbackRules(self, request: pb.RollbackRulesRequest,
                            context: grpc.aio.ServicerContext) -> pb.RuleSetVersion:
        activation = self.gateway.rollback_rules(request.version)
        return _version(activation, self.gateway.book.version)

    async def ListRuleVersions(self, request: pb.ListRuleVersionsRequest,
                               context: grpc.aio.ServicerContext) -> pb.ListRuleVersionsResponse:
        active = self.gateway.book.version
        return pb.ListRuleVersionsResponse(
            activations=[_version(a, active) for a in self.gateway.registry.history()])
