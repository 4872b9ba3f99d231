"""Dedicated deployments over loopback: targets, OpenAI routes and custom /predict."""

import asyncio

import pytest
from llama_index.core.llms import ChatMessage

from baseten_llm import errors

HI = [ChatMessage(role="user", content="hello there")]


@pytest.mark.parametrize(
    "kwargs, prefix",
    [
        ({}, "/model-abcd1234/environments/production"),
        ({"environment": "staging"}, "/model-abcd1234/environments/staging"),
        ({"development": True}, "/model-abcd1234/development"),
        ({"deployment_id": "dep12345"}, "/model-abcd1234/deployment/dep12345"),
    ],
)
def test_each_target_reaches_its_path(emulator, dedicated, kwargs, prefix):
    assert dedicated(**kwargs).chat(HI).message.content.startswith("You said: hello there")
    assert emulator.requests()[-1]["path"] == prefix + "/sync/v1/chat/completions"


def test_openai_style_streams_sync_and_async(emulator, dedicated):
    llm = dedicated("efgh5678")
    chunks = list(llm.stream_complete("hello there"))
    assert (
        chunks[-1].text.startswith("You said: hello there")
        and chunks[-1].additional_kwargs["usage"]
    )

    async def run():
        return (
            [c async for c in await llm.astream_chat(HI)],
            await llm.achat(HI),
            await llm.acomplete("x"),
        )

    streamed, chat, completion = asyncio.run(run())
    assert "".join(c.delta for c in streamed) == chat.message.content
    assert completion.text.startswith("You said: x")


def test_predict_json_uses_the_documented_default_mapping(emulator, dedicated):
    llm = dedicated(api_style="predict", temperature=0.5)
    assert llm.complete("hello there").text.startswith("You said: hello there")
    entry = emulator.requests()[-1]
    assert entry["path"] == "/model-abcd1234/environments/production/predict"
    assert entry["body"] == {
        "messages": [{"role": "user", "content": "hello there"}],
        "stream": False,
        "temperature": 0.5,
    }


def test_predict_streams_raw_text_sync_and_async(dedicated):
    llm = dedicated(api_style="predict")
    chunks = list(llm.stream_chat(HI))
    assert len(chunks) > 5 and "".join(c.delta for c in chunks) == chunks[-1].message.content

    async def run():
        return [c async for c in await llm.astream_complete("hello there")]

    completed = asyncio.run(run())
    assert completed[-1].text.startswith("You said: hello there")


def test_predict_with_custom_builder_and_parser(emulator, dedicated):
    llm = dedicated(
        api_style="predict",
        predict_input_builder=lambda messages, **kw: {"prompt": messages[-1]["content"], **kw},
        predict_output_parser=lambda data: "parsed:" + str(data)[:20],
    )
    text = llm.complete("hello there").text
    assert text.startswith("parsed:")
    assert emulator.requests()[-1]["body"] == {"prompt": "hello there", "stream": False}


def test_an_unknown_model_id_404s_with_a_hint(dedicated):
    with pytest.raises(errors.NotFoundError) as info:
        dedicated("zzzz9999").complete("hi")
    assert "Check the model id 'zzzz9999'" in str(info.value)


def test_an_unknown_environment_404s_naming_it(dedicated):
    with pytest.raises(errors.NotFoundError, match="environment 'nowhere'"):
        dedicated(environment="nowhere").complete("hi")


def test_dedicated_metadata_and_models(dedicated):
    llm = dedicated(context_window=16384, max_tokens=100)
    assert (llm.metadata.context_window, llm.metadata.num_output) == (16384, 100)
    assert [m.id for m in llm.list_models()] == ["abcd1234"]


def test_wake_posts_to_the_target(emulator, dedicated):
    dedicated(environment="staging").wake()
    asyncio.run(dedicated().awake())
    assert [(r["method"], r["path"]) for r in emulator.requests()] == [
        ("POST", "/model-abcd1234/environments/staging/wake"),
        ("POST", "/model-abcd1234/environments/production/wake"),
    ]


def test_embeddings_in_batches_sync_and_async(emulator, embedder):
    model = embedder(embed_batch_size=2)
    vectors = model.get_text_embedding_batch(["a", "b", "c"])
    assert len(vectors) == 3 and all(len(v) == 384 for v in vectors)
    assert len(model.get_query_embedding("q")) == 384
    assert asyncio.run(model.aget_text_embedding("a")) == vectors[0]
    assert len(asyncio.run(model.aget_query_embedding("q"))) == 384
    paths = [r["path"] for r in emulator.requests()]
    assert paths[0] == "/model-emb12345/environments/production/sync/v1/embeddings"
    assert [len(r["body"]["input"]) for r in emulator.requests()][:2] == [2, 1]
