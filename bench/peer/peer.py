"""The peer: the same work done with Microsoft's Python Graph SDK (msgraph-sdk with
azure-identity), as a Python function app would. Driven by `bench all`; prints one JSON line.

    python peer.py resume <graph root> <ids.json> <concurrency>
    python peer.py sweep  <graph root> <concurrency>
    python peer.py cold   <graph root> <ids.json>

The SDK is pointed at the emulator only through its request adapter's base_url; it
authenticates with azure-identity's ManagedIdentityCredential (App Service protocol, from
IDENTITY_ENDPOINT and IDENTITY_HEADER), like the handler. Its connection pool gets the same
limit as the load, and it keeps the SDK's default retry handler (429/503/504, Retry-After).
"""
import asyncio
import json
import resource
import sys
import time

START = time.perf_counter()

import httpx  # noqa: E402
from azure.identity.aio import ManagedIdentityCredential  # noqa: E402
from kiota_authentication_azure.azure_identity_authentication_provider import (  # noqa: E402
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient  # noqa: E402
from msgraph_core import GraphClientFactory  # noqa: E402
from msgraph.generated.identity_governance.lifecycle_workflows.workflows.item.tasks.item.task_processing_results.item.microsoft_graph_identity_governance_resume.resume_post_request_body import (  # noqa: E402
    ResumePostRequestBody,
)
from msgraph.generated.models.identity_governance.custom_task_extension_callback_data import (  # noqa: E402
    CustomTaskExtensionCallbackData,
)
from msgraph.generated.models.identity_governance.custom_task_extension_operation_status import (  # noqa: E402
    CustomTaskExtensionOperationStatus,
)

CUSTOM_TASK = "4262b724-8dba-4fad-afc3-43fcbb497a0e"


CREDENTIALS = []


def graph_client(root: str, connections: int) -> GraphServiceClient:
    credential = ManagedIdentityCredential()
    CREDENTIALS.append(credential)
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(limits=limits, timeout=30.0))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{root}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def resume_body() -> ResumePostRequestBody:
    return ResumePostRequestBody(
        source="bench",
        type="lifecycleEvent",
        data=CustomTaskExtensionCallbackData(operation_status=CustomTaskExtensionOperationStatus.Completed),
    )


async def resume_one(client: GraphServiceClient, ids: list) -> None:
    w, t, r = ids
    await (
        client.identity_governance.lifecycle_workflows.workflows.by_workflow_id(w)
        .tasks.by_task_id(t)
        .task_processing_results.by_task_processing_result_id(r)
        .microsoft_graph_identity_governance_resume.post(resume_body())
    )


async def resume(root: str, items: list, concurrency: int) -> dict:
    client = graph_client(root, concurrency)
    gate = asyncio.Semaphore(concurrency)
    latencies = []

    async def one(ids):
        async with gate:
            started = time.perf_counter()
            await resume_one(client, ids)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(ids) for ids in items))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "resumes": len(latencies),
        "perSecond": len(latencies) / wall,
        "p50Ms": 1000 * latencies[len(latencies) // 2],
        "p99Ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


async def sweep(root: str, concurrency: int) -> dict:
    client = graph_client(root, concurrency)
    gate = asyncio.Semaphore(concurrency)
    lcw = client.identity_governance.lifecycle_workflows
    started = time.perf_counter()

    async def all_pages(first, builder):
        items = list(first.value or [])
        link = first.odata_next_link
        while link:
            async with gate:
                page = await builder.with_url(link).get()
            items.extend(page.value or [])
            link = page.odata_next_link
        return items

    workflows = await all_pages(await lcw.workflows.get(), lcw.workflows)

    async def tasks_of(w):
        async with gate:
            first = await lcw.workflows.by_workflow_id(w.id).tasks.get()
        tasks = await all_pages(first, lcw.workflows.by_workflow_id(w.id).tasks)
        return [(w.id, t.id) for t in tasks if t.task_definition_id == CUSTOM_TASK]

    custom = [pair for pairs in await asyncio.gather(*(tasks_of(w) for w in workflows)) for pair in pairs]

    async def waiting(w, t):
        builder = lcw.workflows.by_workflow_id(w).tasks.by_task_id(t).task_processing_results
        async with gate:
            first = await builder.get(
                request_configuration=builder.TaskProcessingResultsRequestBuilderGetRequestConfiguration(
                    query_parameters=builder.TaskProcessingResultsRequestBuilderGetQueryParameters(
                        filter="processingStatus eq 'inProgress'"
                    )
                )
            )
        return await all_pages(first, builder)

    found = sum(len(r) for r in await asyncio.gather(*(waiting(w, t) for w, t in custom)))
    return {"found": found, "wallMs": 1000 * (time.perf_counter() - started)}


async def main() -> None:
    mode, root = sys.argv[1], sys.argv[2]
    if mode == "resume":
        items = json.load(open(sys.argv[3]))
        result = await resume(root, items, int(sys.argv[4]))
    elif mode == "sweep":
        result = await sweep(root, int(sys.argv[3]))
    elif mode == "cold":
        items = json.load(open(sys.argv[3]))
        await resume_one(graph_client(root, 1), items[0])
        result = {"coldStartMs": 1000 * (time.perf_counter() - START)}
    else:
        raise SystemExit(f"unknown mode {mode}")
    result["peakRssKiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for credential in CREDENTIALS:
        await credential.close()
    print(json.dumps(result))


asyncio.run(main())
