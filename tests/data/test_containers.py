"""The container model: where a file keeps its conversations, how a conversation keeps its turns."""

import re

import pytest

from tide.data.containers import BadContainer, BadConversation, find_container, parse_conversation

PAIR = {"person": "I can't sleep.", "chatbot": "That sounds exhausting."}


@pytest.mark.parametrize("data,shape,ids,wheres,wrapper", [
    ([PAIR, PAIR], "list", [None, None], ["conversations[0]", "conversations[1]"], {}),
    ({"a": PAIR, "b": PAIR}, "mapping", ["a", "b"], ["a", "b"], {}),
    ({"persona_id": 3, "a": PAIR}, "mapping", ["a"], ["a"], {"persona_id": 3}),
    ({"persona_id": 3, "items": [PAIR]}, "'items' list", [None], ["items[0]"], {"persona_id": 3}),
    ({"version": 2, "records": {"x": PAIR}}, "'records' mapping", ["x"], ["records.x"], {"version": 2}),
    ({"anything": [PAIR]}, "'anything' list", [None], ["anything[0]"], {}),  # any key that holds conversations
    ({"chats": {"c1": [{"role": "user", "content": "hi"}]}}, "'chats' mapping", ["c1"], ["chats.c1"], {}),
    (PAIR, "one conversation", [None], ["conversation"], {}),
    ({"conversations": []}, "'conversations' list", [], [], {}),
    ({}, "mapping", [], [], {}),
])
def test_finds_the_conversations_wherever_they_are(data, shape, ids, wheres, wrapper):
    container = find_container(data)
    assert container.shape == shape and container.wrapper == wrapper
    assert [entry[0] for entry in container.entries] == ids and [entry[1] for entry in container.entries] == wheres


@pytest.mark.parametrize("data,problem", [
    ("text", "expected a list or mapping of conversations, got str"),
    ({"persona_id": 1, "note": "none here"}, "got an object with keys ['note', 'persona_id']"),
    ({"train": [PAIR], "test": [PAIR]}, "conversations under more than one key: 'train', 'test'"),
])
def test_refuses_what_holds_no_conversations_or_is_ambiguous(data, problem):
    with pytest.raises(BadContainer, match=re.escape(problem)):
        find_container(data)


@pytest.mark.parametrize("conversation,shape,client_key", [
    ({"id": 4, **PAIR}, "keys", "person"),
    ({"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "I can't sleep."},
                   {"role": "assistant", "content": "That sounds exhausting."}]}, "messages list (role/content)", "user"),
    ({"turns": [{"speaker": "Person", "text": "I can't sleep."}, {"speaker": "Chatbot", "text": "That sounds exhausting."}]},
     "turns list (speaker/text)", "Person"),
    ([{"from": "human", "value": "I can't sleep."}, {"from": "gpt", "value": "That sounds exhausting."}],
     "turn list (from/value)", "human"),  # ShareGPT
    ({"conversation": [{"user": "I can't sleep."}, {"assistant": "That sounds exhausting."}]},
     "conversation list (one key per turn)", "user"),
    ([{"role": "user", "content": "I can't sleep."}, {"role": "assistant", "content": "That sounds exhausting."}],
     "turn list (role/content)", "user"),
    ({"dialogue": {"Person": "I can't sleep.", "Chatbot": "That sounds exhausting.", "mood": "low"}},
     "dialogue object", "Person"),
])
def test_reads_the_turns_in_every_shape(conversation, shape, client_key):
    dialogue = parse_conversation(conversation)
    assert (dialogue.client, dialogue.reply) == ("I can't sleep.", "That sounds exhausting.")
    assert dialogue.shape == shape and dialogue.client_key == client_key


def test_keeps_what_it_does_not_use():
    conversation = {"conversation_id": 2.0, "scenario": "nightmares", "mood": "low",
                    "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi."},
                                 {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Thanks."}],
                    "dialogue_note": None}
    dialogue = parse_conversation(conversation)
    assert (dialogue.conversation_id, dialogue.id_key, dialogue.scenario) == ("2", "conversation_id", "nightmares")
    assert dialogue.extra == {"mood": "low", "dialogue_note": None, "other_turns": [
        {"role": "system", "content": "Be kind."}, {"role": "user", "content": "Thanks."}]}
    nested = parse_conversation({"dialogue": {**PAIR, "mood": "low"}, "id": "x"})
    assert nested.extra == {"mood": "low"} and nested.conversation_id == "x"


@pytest.mark.parametrize("conversation,key,problem", [
    ({"messages": [{"role": "user", "content": "Hi."}]}, "messages", "missing reply turn"),
    ({"messages": [{"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Hi."}]}, "messages",
     "missing reply turn"),  # a reply counts only after the client's turn
    ({"turns": [{"speaker": "patient", "text": "Hi."}]}, "turns", "missing client turn"),
    ({"messages": [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": ["Hello."]}]},
     "messages[1].content", "expected a string, got list"),
    ({"dialogue": {"person": "Hi.", "chatbot": ""}}, "dialogue.chatbot", "empty reply text"),
    ({"dialogue": {"person": "Hi."}}, "dialogue", "missing reply turn"),
    ({"messages": "Hi."}, "messages", "expected a list of turns, got str"),
    ({"id": {"n": 1}, **PAIR}, "id", "expected an id, got dict"),
    ([{"role": "user", "content": " "}, {"role": "assistant", "content": "Hello."}], "[0].content", "empty client text"),
    ("Hi.", None, "expected an object, got str"),
])
def test_a_bad_conversation_names_the_key(conversation, key, problem):
    with pytest.raises(BadConversation) as error:
        parse_conversation(conversation)
    assert error.value.key == key and problem in error.value.problem
