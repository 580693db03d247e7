"""Resources of types moto does not model are still resources of their stack.

moto 5.2.5 has no CloudFormation model for some types the templates use (``AWS::CloudWatch::Alarm``,
``AWS::SQS::QueuePolicy``, ``AWS::SNS::TopicPolicy``, ``AWS::S3::BucketPolicy``, ``AWS::Glue::Job``,
``AWS::Glue::SecurityConfiguration``): it logs "No Moto CloudFormation support", creates nothing,
and ``ListStackResources`` / ``DescribeStackResources`` then answer one entry with an empty logical
ID, type and physical ID per such resource, so nobody can tell which resources a stack holds.

AWS lists every resource of a stack with its logical ID, type and physical ID
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html).

Here a resource of an unmodelled type is recorded (not emulated: no alarm, policy or Glue job is
created in its service): its physical ID is the name its template gives it (``Name``, or the
type's own ``<Type>Name`` property such as ``AlarmName``), otherwise a generated
``{stack}-{logical}-{suffix}``; ``Ref`` returns it, ``Fn::GetAtt ... Arn`` an ARN of the type's
service. Updates keep the physical ID unless the name changes; deletes only forget the record.
"""

from __future__ import annotations

from typing import Any


def _name(resource_type: str, properties: dict[str, Any], generated: str) -> str:
    """The physical ID: the template's name property, else moto's generated name."""
    short = resource_type.rsplit("::", 1)[-1]
    for key in ("Name", f"{short}Name"):
        value = properties.get(key)
        if isinstance(value, str) and value:
            return value
    return generated


def _define_model() -> Any:
    from moto.core.common_models import CloudFormationModel

    class UnmodelledResource(CloudFormationModel):
        """A record of a resource moto has no model for (see the module docstring)."""

        def __init__(self, resource_type: str, physical_id: str, account_id: str, region_name: str) -> None:
            self.cf_resource_type = resource_type
            self.physical_id = physical_id
            self.account_id = account_id
            self.region_name = region_name

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            # Never matches a template's type: the class is only reached through resource_class_from_type.
            return "Ceap::LocalAws::Unmodelled"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            if attribute_name != "Arn":
                from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

                raise UnformattedGetAttTemplateException()
            service = self.cf_resource_type.split("::")[1].lower()
            kind = self.cf_resource_type.rsplit("::", 1)[-1].lower()
            return f"arn:aws:{service}:{self.region_name}:{self.account_id}:{kind}:{self.physical_id}"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> UnmodelledResource:
            kind = kwargs.get("ResourceType") or cloudformation_json["Type"]
            physical = _name(kind, cloudformation_json.get("Properties") or {}, resource_name)
            return cls(kind, physical, account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> UnmodelledResource:
            kind = cloudformation_json["Type"]
            keep = getattr(original_resource, "physical_id", new_resource_name)
            physical = _name(kind, cloudformation_json.get("Properties") or {}, keep)
            return cls(kind, physical, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            return None

        def delete(self, account_id: str, region_name: str) -> None:
            return None

    UnmodelledResource.__module__ = __name__
    return UnmodelledResource


def apply() -> None:
    """Route every type moto has no model for (and is not one of its null models) to the record."""
    from moto.cloudformation import parsing

    model = _define_model()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        own = resource_type in parsing.NULL_MODELS or resource_type.startswith("Custom::")
        return original(resource_type) if own or resource_type in parsing.get_model_map() else model

    parsing.resource_class_from_type = resource_class_from_type
