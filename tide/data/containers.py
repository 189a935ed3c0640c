"""The container model: where a TIDE file keeps its conversations, and how a conversation keeps its turns.

A conversation file holds its conversations as

    [{...}, {...}]                                   a list at the root
    {"conversation_1": {...}, ...}                   a mapping id -> conversation at the root
    {"persona_id": 1, "conversations": [...]}        either of them under one wrapper key (any key whose
    {"persona_id": 1, "dialogues": {"c1": {...}}}    value holds conversations); the other keys are the
                                                     wrapper's fields (persona_id, persona attributes)
    {"person": "...", "chatbot": "..."}              one conversation

and a conversation carries its two turns as

    {"person": "...", "chatbot": "..."}                               keys
    {"messages": [{"role": "user", "content": "..."}, ...]}           a list of turns: role/content,
    {"turns": [{"speaker": "person", "text": "..."}, ...]}            speaker/text, from/value, or
    {"conversation": [{"user": "..."}, {"assistant": "..."}]}         one key per turn
    [{"role": "user", "content": "..."}, ...]                         the list itself
    {"dialogue": {"person": "...", "chatbot": "..."}}                 keys nested one level

The key names are not documented, so they are detected from the lists below (case-insensitive).
Ids come from the conversation's own id key, else from its key in a mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CLIENT_KEYS = ("person", "client", "user", "user_input", "human")
REPLY_KEYS = ("chatbot", "assistant", "response", "reference_response", "bot", "gpt")
SCENARIO_KEYS = ("scenario", "emotional_scenario", "situation")
CONVERSATION_ID_KEYS = ("conversation_id", "conv_id", "dialogue_id", "id")
PERSONA_ID_KEYS = ("persona_id", "persona_number", "persona_no")
# Keys that name a container even when it is empty or its conversations are all broken.
CONTAINER_KEYS = ("conversations", "dialogues", "data", "items", "records", "rows")
TURN_LIST_KEYS = ("turns", "conversation", "messages", "dialogue", "dialog")
ROLE_KEYS = ("role", "speaker", "from")
TEXT_KEYS = ("content", "text", "value", "message", "utterance")


class BadConversation(ValueError):
    """A conversation that cannot be read; `key` is the path inside it (None: the conversation itself)."""

    def __init__(self, key: str | None, problem: str, kind: str):
        self.key, self.problem, self.kind = key, problem, kind
        super().__init__(problem)


class BadContainer(ValueError):
    def __init__(self, problem: str, kind: str = "wrong_type"):
        self.problem, self.kind = problem, kind
        super().__init__(problem)


@dataclass
class Container:
    shape: str  # "list", "mapping", "'conversations' mapping", "one conversation"
    entries: list[tuple[str | None, str, object]]  # (id from the mapping key, where, conversation)
    wrapper: dict = field(default_factory=dict)  # the wrapper's other keys


@dataclass
class Dialogue:
    conversation_id: str | None
    id_key: str | None
    scenario: object
    client: str
    reply: str
    client_key: str
    reply_key: str
    shape: str
    extra: dict


def find_key(mapping: dict, names: tuple[str, ...]) -> str | None:
    """The key of `mapping` that matches the first of `names`, ignoring case."""
    for name in names:
        if name in mapping:  # the common case, without lowering every key
            return name
    lowered = {str(key).lower(): key for key in mapping}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def looks_like_conversation(value) -> bool:
    if isinstance(value, dict):
        if find_key(value, CLIENT_KEYS) or find_key(value, REPLY_KEYS):
            return True
        turns_key = find_key(value, TURN_LIST_KEYS)
        return turns_key is not None and isinstance(value[turns_key], (list, dict))
    if isinstance(value, list):
        return bool(value) and all(isinstance(turn, dict) for turn in value) and any(
            find_key(turn, ROLE_KEYS) or (len(turn) == 1 and _role(next(iter(turn)))) for turn in value)
    return False


def _holds_conversations(key: str, value) -> bool:
    if str(key).lower() in CONTAINER_KEYS and isinstance(value, (list, dict)):
        return True
    items = value if isinstance(value, list) else value.values() if isinstance(value, dict) else ()
    return any(looks_like_conversation(item) for item in items)


def find_container(data) -> Container:
    """Where `data` (a parsed conversation file) keeps its conversations; raises BadContainer."""
    if isinstance(data, list):
        return Container("list", [(None, f"conversations[{i}]", item) for i, item in enumerate(data)])
    if not isinstance(data, dict):
        raise BadContainer(f"expected a list or mapping of conversations, got {type(data).__name__}")
    if looks_like_conversation(data):
        return Container("one conversation", [(None, "conversation", data)])
    if not data:
        return Container("mapping", [])
    entries = [key for key, value in data.items() if looks_like_conversation(value)]
    wrapped = [key for key, value in data.items() if key not in entries and _holds_conversations(key, value)]
    if len(wrapped) > 1 or (wrapped and entries):
        raise BadContainer(f"conversations under more than one key: {', '.join(map(repr, wrapped + entries))}")
    if wrapped:
        key = wrapped[0]
        inner = _entries(data[key], f"{key}")
        kind = "list" if isinstance(data[key], list) else "mapping"
        return Container(f"{key!r} {kind}", inner, {k: v for k, v in data.items() if k != key})
    if entries:  # a mapping at the root; scalar values (persona_id, ...) are the wrapper's fields
        conversations = {k: v for k, v in data.items() if isinstance(v, (dict, list))}
        return Container("mapping", _entries(conversations, None),
                         {k: v for k, v in data.items() if k not in conversations})
    raise BadContainer(f"expected a list or mapping of conversations (at the root or under one key), got an "
                       f"object with keys {sorted(map(str, data))[:8]}")


def _entries(container, prefix: str | None) -> list[tuple[str | None, str, object]]:
    if isinstance(container, list):
        return [(None, f"{prefix or 'conversations'}[{i}]", item) for i, item in enumerate(container)]
    return [(str(key), f"{prefix}.{key}" if prefix else str(key), item) for key, item in container.items()]


def _role(name) -> str | None:
    name = str(name).lower()
    return "client" if name in CLIENT_KEYS else "reply" if name in REPLY_KEYS else None


def parse_conversation(conversation) -> Dialogue:
    """The dialogue in one conversation of any supported shape; raises BadConversation naming the key."""
    if isinstance(conversation, list):
        return _from_turn_list(conversation, None, {})
    if not isinstance(conversation, dict):
        raise BadConversation(None, f"expected an object, got {type(conversation).__name__}", "wrong_type")
    id_key = find_key(conversation, CONVERSATION_ID_KEYS)
    scenario_key = find_key(conversation, SCENARIO_KEYS)
    client_key, reply_key = find_key(conversation, CLIENT_KEYS), find_key(conversation, REPLY_KEYS)
    turns_key = None if client_key or reply_key else find_key(conversation, TURN_LIST_KEYS)
    used = {id_key, scenario_key, client_key, reply_key, turns_key}
    extra = {k: v for k, v in conversation.items() if k not in used}
    if turns_key is not None and isinstance(conversation[turns_key], list):
        dialogue = _from_turn_list(conversation[turns_key], turns_key, extra)
    elif turns_key is not None and isinstance(conversation[turns_key], dict):
        dialogue = _from_keys(conversation[turns_key], f"{turns_key}.", f"{turns_key} object")
        dialogue.extra = {**dialogue.extra, **extra}
    elif turns_key is not None:
        raise BadConversation(turns_key, f"expected a list of turns, got {type(conversation[turns_key]).__name__}",
                              "wrong_type")
    else:
        dialogue = _from_keys({k: conversation[k] for k in (client_key, reply_key) if k}, "", "keys")
        dialogue.extra = extra
    if id_key is not None and conversation[id_key] is not None:
        value = conversation[id_key]
        if isinstance(value, (dict, list, bool)):
            raise BadConversation(id_key, f"expected an id, got {type(value).__name__}", "wrong_type")
        dialogue.conversation_id, dialogue.id_key = _id_text(value), id_key
    dialogue.scenario = conversation[scenario_key] if scenario_key else None
    return dialogue


def _id_text(value) -> str:
    """1, 1.0 and "1" are the same id."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()


def _from_keys(turns: dict, prefix: str, shape: str) -> Dialogue:
    client_key, reply_key = find_key(turns, CLIENT_KEYS), find_key(turns, REPLY_KEYS)
    found = {}
    for role, key in (("client", client_key), ("reply", reply_key)):
        if key is not None:
            found[role] = (key, turns[key], f"{prefix}{key}")
    extra = {k: v for k, v in turns.items() if k not in (client_key, reply_key)}
    return _dialogue(found, shape, extra, prefix.rstrip(".") or None)


def _from_turn_list(turns: list, turns_key: str | None, extra: dict) -> Dialogue:
    """The first client turn and the first reply after it; any other turns are kept in extra["other_turns"]."""
    found, other, roles = {}, [], set()
    for index, turn in enumerate(turns):
        role_key = find_key(turn, ROLE_KEYS) if isinstance(turn, dict) else None
        text_key = find_key(turn, TEXT_KEYS) if role_key else None
        if role_key and text_key:
            name, key = turn[role_key], text_key
            roles.add(f"{role_key}/{text_key}")
        elif isinstance(turn, dict) and len(turn) == 1:
            name = key = next(iter(turn))
            roles.add("one key per turn")
        else:
            other.append(turn)
            continue
        role = _role(name)
        where = f"{turns_key}[{index}].{key}" if turns_key else f"[{index}].{key}"
        if role == "client" and "client" not in found:
            found["client"] = (str(name), turn[key], where)
        elif role == "reply" and "client" in found and "reply" not in found:
            found["reply"] = (str(name), turn[key], where)
        else:
            other.append(turn)
    extra = {**extra, "other_turns": other} if other else extra
    shape = f"{turns_key or 'turn'} list ({', '.join(sorted(roles)) or 'no turns'})"
    return _dialogue(found, shape, extra, turns_key)


def _dialogue(found: dict, shape: str, extra: dict, where: str | None) -> Dialogue:
    texts = {}
    for role, names in (("client", CLIENT_KEYS), ("reply", REPLY_KEYS)):
        if role not in found:
            raise BadConversation(where, f"missing {role} turn (looked for {', '.join(names)})", "missing_text")
        key, value, path = found[role]
        if not isinstance(value, str):
            raise BadConversation(path, f"expected a string, got {type(value).__name__}", "wrong_type")
        if not value.strip():
            raise BadConversation(path, f"empty {role} text", "empty_text")
        texts[role] = (key, value.strip())
    (client_key, client), (reply_key, reply) = texts["client"], texts["reply"]
    return Dialogue(None, None, None, client, reply, client_key, reply_key, shape, extra)
