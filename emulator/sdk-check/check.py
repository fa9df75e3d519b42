"""Microsoft's Python Graph SDK against the emulator, unchanged apart from the base URL.

Run by `emulator/sdk-check/run.sh`: the emulator serves a generated tenant with a small page
size (its seed file tells this script what to expect), and this script, through msgraph-sdk and azure-identity's ManagedIdentityCredential,
resumes a task processing result with the SDK's own action segment
(microsoft.graph.identityGovernance.resume), follows next links, reads Graph's error body,
and resumes an access package assignment request. Prints one line per check and a summary.
"""
import asyncio
import json
import sys

import httpx
from azure.identity.aio import ManagedIdentityCredential
from kiota_abstractions.api_error import APIError
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory
from msgraph.generated.identity_governance.entitlement_management.assignment_requests.item.resume.resume_post_request_body import (
    ResumePostRequestBody as AccessResumeBody,
)
from msgraph.generated.identity_governance.lifecycle_workflows.workflows.item.tasks.item.task_processing_results.item.microsoft_graph_identity_governance_resume.resume_post_request_body import (
    ResumePostRequestBody as TaskResumeBody,
)
from msgraph.generated.models.access_package_assignment_request_callback_data import (
    AccessPackageAssignmentRequestCallbackData,
)
from msgraph.generated.models.access_package_custom_extension_stage import AccessPackageCustomExtensionStage
from msgraph.generated.models.identity_governance.custom_task_extension_callback_data import (
    CustomTaskExtensionCallbackData,
)
from msgraph.generated.models.identity_governance.custom_task_extension_operation_status import (
    CustomTaskExtensionOperationStatus,
)
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

CUSTOM_TASK = "4262b724-8dba-4fad-afc3-43fcbb497a0e"
passed, failed = 0, 0


def check(name: str, ok: bool, detail: str = "") -> None:
    global passed, failed
    passed, failed = passed + ok, failed + (not ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")


async def main(root: str, seed: dict) -> None:
    credential = ManagedIdentityCredential()
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )
    adapter = GraphRequestAdapter(auth, client=GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient()))
    adapter.base_url = f"{root}/v1.0"
    client = GraphServiceClient(request_adapter=adapter)
    lcw = client.identity_governance.lifecycle_workflows

    # Paging: the SDK's models and next links.
    page = await lcw.workflows.get()
    workflows = list(page.value)
    while page.odata_next_link:
        page = await lcw.workflows.with_url(page.odata_next_link).get()
        workflows.extend(page.value)
    check("workflows page through next links", len(workflows) == len(seed["workflows"]), f"{len(workflows)} workflows")

    workflow = workflows[0]
    tasks = (await lcw.workflows.by_workflow_id(workflow.id).tasks.get()).value
    custom = [t for t in tasks if t.task_definition_id == CUSTOM_TASK]
    seeded = next(w for w in seed["workflows"] if w["id"] == workflow.id)
    check("tasks parse, with the custom task extension definition",
          len(custom) == sum(t["taskDefinitionId"] == CUSTOM_TASK for t in seeded["tasks"]))
    results_builder = lcw.workflows.by_workflow_id(workflow.id).tasks.by_task_id(custom[0].id).task_processing_results
    query = results_builder.TaskProcessingResultsRequestBuilderGetQueryParameters(filter="processingStatus eq 'inProgress'")
    config = results_builder.TaskProcessingResultsRequestBuilderGetRequestConfiguration(query_parameters=query)
    page = await results_builder.get(request_configuration=config)
    waiting = list(page.value)
    while page.odata_next_link:
        page = await results_builder.with_url(page.odata_next_link).get()
        waiting.extend(page.value)
    expected = sum(r["taskId"] == custom[0].id and r["processingStatus"] == "inProgress"
                   for u in seeded["userProcessingResults"] for r in u["taskProcessingResults"])
    check("a filtered list of task processing results pages through next links", expected > 2 and len(waiting) == expected and all(
        r.processing_status.value == "inProgress" for r in waiting), f"{len(waiting)} of {expected}")

    # The SDK's resume action segment, and its enum spelling.
    body = TaskResumeBody(
        source="sdk-check", type="lifecycleEvent",
        data=CustomTaskExtensionCallbackData(operation_status=CustomTaskExtensionOperationStatus.Completed),
    )
    result = results_builder.by_task_processing_result_id(waiting[0].id)
    await result.microsoft_graph_identity_governance_resume.post(body)
    after = await result.get()
    check("resume through microsoft.graph.identityGovernance.resume", after.processing_status.value == "completed")

    # Graph's error body, parsed by the SDK.
    try:
        await result.microsoft_graph_identity_governance_resume.post(body)
        check("a second resume is refused", False, "it was accepted")
    except ODataError as error:
        check("a second resume is refused with Graph's error body",
              error.response_status_code == 400 and error.error.code == "BadRequest" and bool(error.error.message))
    except APIError as error:
        check("a second resume is refused with Graph's error body", False, f"unparsed: {error}")

    # Entitlement Management.
    requests = (await client.identity_governance.entitlement_management.assignment_requests.get()).value
    target = next(r for r in requests if r.status == "WaitingForCallback")
    instance = target.custom_extension_callout_instances[0]
    stage = next(r for r in seed["assignmentRequests"] if r["id"] == target.id)["customExtensionCalloutInstances"][0]["stage"]
    await client.identity_governance.entitlement_management.assignment_requests.by_access_package_assignment_request_id(target.id).resume.post(
        AccessResumeBody(
            source="sdk-check",
            type=f"microsoft.graph.accessPackageCustomExtensionStage.{stage}",
            data=AccessPackageAssignmentRequestCallbackData(
                stage=AccessPackageCustomExtensionStage(stage),
                custom_extension_stage_instance_id=instance.id,
                custom_extension_stage_instance_detail="verified",
            ),
        )
    )
    read = await client.identity_governance.entitlement_management.assignment_requests.by_access_package_assignment_request_id(target.id).get()
    check("an access package assignment request resumes", read.custom_extension_callout_instances[0].status.value == "callbackReceived")
    await credential.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.load(open(sys.argv[2]))))
    print(f"sdk-check: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
