"""A message as the intent classifier leaves it, for the NLU rule components."""

from rasa.shared.nlu.training_data.message import Message


def classified(text, intent, conf, ranking):
    """Return a Message with ``intent`` at ``conf`` and ``ranking`` [(name, conf)]."""
    msg = Message.build(text=text)
    msg.set("intent", {"name": intent, "confidence": conf})
    msg.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking])
    return msg
