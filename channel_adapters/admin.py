"""The admin service: propose a rule set or a rollback, approve one (a second person), list
what was active when. Every call names an operator by their session; the roles decide."""

from __future__ import annotations

import grpc
from foureyes.channel_adapters.auth import bearer
from foureyes.gateway.gateway import Gateway
from foureyes.gateway.rule_registry import Activation
from foureyes.protos import foureyes_pb2 as pb
from foureyes.security.directory import Operator

MAX_RULE_FILES = 200


def _version(a: Activation, active: str) -> pb.RuleSetVersion:
    return pb.RuleSetVersion(version=a.version, activated_at=a.at, comment=a.comment,
                             trigger_rules=a.trigger_rules, active=a.version == active,
                             proposed_by=a.proposed_by, approved_by=a.approved_by,
                             pending=a.pending, proposed_at=a.proposed_at)


class AdminAdapter:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def _operator(self, context: grpc.aio.ServicerContext, *roles: str) -> Operator:
        return self.gateway.guard.operator(bearer(context), *roles)

    async def PublishRules(self, request: pb.PublishRulesRequest,
                           context: grpc.aio.ServicerContext) -> pb.RuleSetVersion:
        op = self._operator(context)  # the gateway checks the role
        files = {f.name: f.content for f in request.files[:MAX_RULE_FILES]}
        proposal = await self.gateway.propose_rules(files, request.comment[:500], op)
        return _version(proposal, self.gateway.book.version)

    async def RollbackRules(self, request: pb.RollbackRulesRequest,
                            context: grpc.aio.ServicerContext) -> pb.RuleSetVersion:
        op = self._operator(context)
        proposal = await self.gateway.propose_rollback(request.version[:64], request.comment[:500], op)
        return _version(proposal, self.gateway.book.version)

    async def ApproveRules(self, request: pb.ApproveRulesRequest,
                           context: grpc.aio.ServicerContext) -> pb.RuleSetVersion:
        op = self._operator(context)
        activation = await self.gateway.approve_rules(request.version[:64], op)
        return _version(activation, self.gateway.book.version)

    async def ListRuleVersions(self, request: pb.ListRuleVersionsRequest,
                               context: grpc.aio.ServicerContext) -> pb.ListRuleVersionsResponse:
        self._operator(context, "rule_author", "rule_approver", "auditor")
        await self.gateway.share_rules()
        active = self.gateway.book.version
        registry = self.gateway.registry
        return pb.ListRuleVersionsResponse(
            activations=[_version(a, active) for a in registry.history()],
            pending=[_version(a, active) for a in registry.pending()])
