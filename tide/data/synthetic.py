"""Seeded synthetic TIDE: the same on-disk layout as the real (gated) dataset, for tests and dry runs.

    write_synthetic(out_dir, data.synthetic)                # from the data slice (SyntheticConfig)
    write_synthetic_tide(out_dir, n_personas=40, seed=1)    # the same, from keywords (benchmarks, tests)

Layout (what our reader reads for real TIDE; N = 1..n_personas):

    out_dir/metadata/N_metadata.json            layout="nested" (default)
    out_dir/conversations/N_conversations.json
    out_dir/N_metadata.json, out_dir/N_conversations.json   layout="flat"

A metadata file is one persona object (age, gender, education, ethnicity, trauma_type, trauma_behaviors,
occupation). A conversation file is a list of two-turn dialogues: the client turn ("person"), the reference
reply ("chatbot"), the emotional "scenario", the character spans of the empathy factors present in the reply
("factor_spans") and "risk" ("self_harm" or null).

How the text is built, and why:
- Client turns are composed from fragments (opening, age/occupation line, scenario situation, trauma
  behaviour, feeling, optional self-harm line, closing) with slots filled from the persona, so they vary
  with trauma type, behaviours, age and occupation as well as with the scenario.
- Reference replies are built from the three factors of the paper's empathy model, each present with
  probability FACTOR_RATE independently (at least one always present) in the order recognise -> normalise
  -> support (validation before support, which older raters preferred). Absent factors are the negatives a
  factor scorer is tested against; `reply[start:end]` of each recorded span is exactly that factor's text.
- Replies to a client who voices self-harm always acknowledge the pain, then point to immediate human help
  (every such sentence passes tide.core.crisis.refers_to_human_help; tested), then optionally support. They skip distress
  normalisation on purpose: "many people feel this" must not read as minimising suicidal thoughts.
  Ordinary replies never mention crisis lines or emergency services, so the patterns separate the two.
- At-risk client turns voice self-harm in many phrasings (_SELF_HARM_LINES: passive and active ideation,
  plans, means, self-injury, chat spelling); some ordinary turns carry risk words that voice none
  (_RISK_CONFOUNDER_LINES: negated, about someone else, idioms), so a detector's false alarms show.
- Determinism: every persona and every persona's conversations draw from their own `random.Random` seeded
  with a string (hashed with SHA-512 by Python, so independent of PYTHONHASHSEED): same seed, same bytes.

This is not clinical content: it is plausible, varied, safe text with known structure, nothing more.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import NamedTuple

from tide.config import SyntheticConfig
from tide.config.fields import build
from tide.core.domain import FACTORS
from tide.core.files import staged_dir

FACTOR_RATE = 0.8  # probability that each factor appears in an ordinary reference reply


# ---------------------------------------------------------------------------------------------------------
# Personas
# ---------------------------------------------------------------------------------------------------------


class _Trauma(NamedTuple):
    event: str  # as in "people who have lived through {event}"
    refs: tuple[str, ...]  # how the client names it: "since {ref}", "about {ref}"
    triggers: tuple[str, ...]  # a clause: "Yesterday {trigger} and suddenly I was back there"


_TRAUMA = {
    "combat": _Trauma(
        "combat", ("my deployment", "what happened overseas"),
        ("a car backfired", "a helicopter flew low over the house")),
    "sexual assault": _Trauma(
        "sexual assault", ("the assault", "what was done to me that night"),
        ("someone grabbed my arm from behind", "I smelled the same cologne")),
    "childhood abuse": _Trauma(
        "abuse in childhood", ("the abuse I grew up with", "what happened to me as a kid"),
        ("someone raised their voice right next to me", "I heard a belt buckle clink")),
    "car accident": _Trauma(
        "a serious car accident", ("the crash", "the accident on the highway"),
        ("tires screeched outside", "a car braked hard right behind me")),
    "natural disaster": _Trauma(
        "a natural disaster", ("the flood", "the hurricane"),
        ("the wind picked up and rattled the windows", "heavy rain started hammering the roof")),
    "domestic violence": _Trauma(
        "domestic violence", ("the years with my ex", "what my ex did to me"),
        ("a door slammed down the hall", "I heard keys in the lock late at night")),
    "medical trauma": _Trauma(
        "a frightening medical experience", ("my time in the ICU", "the surgery that went wrong"),
        ("a monitor started beeping", "I smelled hospital disinfectant")),
    "sudden loss of a loved one": _Trauma(
        "the sudden loss of someone they love", ("losing my brother so suddenly", "the phone call about my mom"),
        ("my phone rang late at night", "a song we used to love came on")),
    "terrorist attack": _Trauma(
        "a terrorist attack", ("the attack", "the bombing"),
        ("there was a loud bang down the street", "a crowd suddenly started running")),
    "workplace accident": _Trauma(
        "a serious accident at work", ("the accident at the plant", "my injury at work"),
        ("a machine clanged behind me", "I heard metal scraping on metal")),
    "physical assault": _Trauma(
        "a violent assault", ("being attacked", "the night I was jumped"),
        ("someone came up fast behind me", "I heard footsteps running toward me")),
    "armed robbery": _Trauma(
        "an armed robbery", ("the robbery", "having a gun pointed at me"),
        ("someone burst through a door", "a man reached into his jacket near me")),
    "house fire": _Trauma(
        "a house fire", ("the fire", "losing our home to the fire"),
        ("I smelled smoke", "a smoke alarm went off")),
    "first responder exposure": _Trauma(
        "repeated exposure to traumatic scenes on the job",
        ("the calls I've worked", "the worst call I ever worked"),
        ("I heard sirens", "a radio crackled")),
    "witnessing violence": _Trauma(
        "witnessing violence", ("what I saw that night", "the night I watched someone get hurt"),
        ("people started shouting outside", "glass shattered nearby")),
    "refugee displacement": _Trauma(
        "war and displacement", ("fleeing my country", "the journey here"),
        ("a plane flew low overhead", "someone in uniform asked for my papers")),
    "kidnapping": _Trauma(
        "being held captive", ("being taken", "the days I was held"),
        ("a van pulled up right beside me", "a door locked behind me")),
    "bullying and harassment": _Trauma(
        "prolonged harassment", ("years of being harassed", "what they did to me at school"),
        ("a group laughed behind me", "I got a message from an unknown number")),
    "childbirth trauma": _Trauma(
        "a traumatic birth", ("my son's birth", "the delivery"),
        ("I heard a newborn crying", "a nurse on TV told someone to push")),
    "mass shooting": _Trauma(
        "a mass shooting", ("the shooting", "that day at the mall"),
        ("fireworks went off", "I heard popping sounds down the block")),
}
TRAUMA_TYPES = tuple(_TRAUMA)


class _Behavior(NamedTuple):
    noun: str  # for the reply: "many people struggle with {noun}"
    lines: tuple[str, ...]  # how the client mentions it


_BEHAVIOR = {
    "nightmares": _Behavior("nightmares", (
        "The nightmares are back almost every night.", "I keep waking up from nightmares about it.")),
    "flashbacks": _Behavior("flashbacks", (
        "I keep having flashbacks where it feels like it's happening again.",
        "The flashbacks come out of nowhere.")),
    "dissociation": _Behavior("feeling detached or spaced out", (
        "Sometimes I zone out and lose whole chunks of time.",
        "I feel like I'm watching myself from outside my body.")),
    "hypervigilance": _Behavior("always being on guard", (
        "I'm always scanning the room for exits.", "I jump at every little noise.")),
    "avoidance": _Behavior("avoiding reminders", (
        "I avoid anything that reminds me of it.", "I cancelled plans again just so I wouldn't be reminded.")),
    "substance use": _Behavior("drinking more to cope", (
        "I've been drinking more than I should to get through the evenings.",
        "I've been leaning on alcohol just to switch off.")),
    "emotional numbing": _Behavior("emotional numbness", (
        "I can't feel much of anything.", "It's like my feelings have been switched off.")),
    "irritability": _Behavior("irritability and anger", (
        "I snap at people over tiny things.", "I'm angry all the time and I don't know why.")),
    "sleep problems": _Behavior("trouble sleeping", (
        "I barely sleep.", "I wake up at 3 a.m. and can't get back to sleep.")),
    "self-isolation": _Behavior("pulling away from other people", (
        "I've been keeping to myself more and more.", "I don't really see anyone anymore.")),
}
TRAUMA_BEHAVIORS = tuple(_BEHAVIOR)

_GENDERS = (("female", 48), ("male", 46), ("non-binary", 6))
_EDUCATION = ("less than high school", "high school diploma", "some college", "associate degree",
              "bachelor's degree", "master's degree", "doctoral degree")
_ETHNICITIES = ("White", "Black or African American", "Hispanic or Latino", "Asian",
                "American Indian or Alaska Native", "Native Hawaiian or Pacific Islander",
                "Middle Eastern or North African", "Multiracial")
_OCCUPATIONS = ("nurse", "teacher", "truck driver", "software developer", "electrician", "cashier",
                "paramedic", "police officer", "firefighter", "accountant", "warehouse worker", "chef",
                "social worker", "mechanic", "graphic designer", "construction worker", "pharmacist",
                "bus driver", "retail manager", "hairdresser", "farmer", "lawyer", "librarian",
                "security guard", "dental assistant", "office administrator", "stay-at-home parent")
_STUDENT_OCCUPATIONS = ("college student", "graduate student", "apprentice")
_RETIRED_OCCUPATIONS = ("retired teacher", "retired nurse", "retired machinist", "retired veteran",
                        "retired postal worker")


def generate_personas(n_personas: int, seed: int) -> list[dict]:
    """Metadata objects for personas 1..n_personas (pure: no I/O, deterministic in seed)."""
    personas = []
    for pid in range(1, n_personas + 1):
        rng = random.Random(f"{seed}-{pid}-persona")
        age = rng.randint(18, 80)
        # Age-plausible occupations: students are young, many over 67 are retired.
        if age <= 24 and rng.random() < 0.5:
            occupation = rng.choice(_STUDENT_OCCUPATIONS)
        elif age >= 67 and rng.random() < 0.7:
            occupation = rng.choice(_RETIRED_OCCUPATIONS)
        else:
            occupation = rng.choice(_OCCUPATIONS)
        personas.append({
            "persona_id": pid,
            "age": age,
            "gender": rng.choices([g for g, _ in _GENDERS], [w for _, w in _GENDERS])[0],
            "education": rng.choice(_EDUCATION),
            "ethnicity": rng.choice(_ETHNICITIES),
            "trauma_type": rng.choice(TRAUMA_TYPES),
            "trauma_behaviors": rng.sample(TRAUMA_BEHAVIORS, rng.randint(1, 3)),
            "occupation": occupation,
        })
    return personas


# ---------------------------------------------------------------------------------------------------------
# Scenarios: what the client brings (situations, feelings) and what the reply picks up (gists, norms, steps)
# ---------------------------------------------------------------------------------------------------------


class _Scenario(NamedTuple):
    situations: tuple[str, ...]  # client sentences
    feelings: tuple[str, ...]  # adjectives that read in "I feel so _", "how _ you are", "feeling _"
    gists: tuple[str, ...]  # noun phrase for the reply: "especially with {gist}"
    norms: tuple[str, ...]  # clause for normalisation: "It's understandable, because {norm}."
    steps: tuple[str, ...]  # scenario-specific gentle next steps (added to the general pool)


_SCENARIO = {
    "anniversary of the trauma": _Scenario(
        ("The anniversary of {trauma_ref} is next week and I can already feel it coming.",
         "It's been {years} since {trauma_ref}, and every year around this date I fall apart.",
         "Everyone else seems to have forgotten the date, but my body hasn't.",
         "This week marks another year since {trauma_ref}."),
        ("on edge", "full of dread", "heavy", "raw", "sad"),
        ("the anniversary coming up", "this time of year bringing it all back",
         "another year passing since it happened"),
        ("anniversaries often bring memories and body reactions back",
         "the body tends to remember dates even when we wish it wouldn't"),
        ("It might help to plan the anniversary ahead of time, with something gentle to do and someone "
         "you can check in with.",
         "You could mark the day in a way that feels right to you, or simply let it be a quieter day.")),
    "triggered by a sound or smell": _Scenario(
        ("Yesterday {trigger} and suddenly I was right back in it.",
         "I was out shopping when {trigger}, and I had to leave everything and get out.",
         "Out of nowhere {trigger}, and my heart started pounding."),
        ("shaken", "jumpy", "scared", "embarrassed", "on edge"),
        ("being pulled back so suddenly", "a reminder hitting without any warning"),
        ("a sound or smell can pull someone straight back to a moment of danger",
         "the brain links sensations to danger and reacts before you can even think"),
        ("When a reminder hits, telling yourself the date and where you are right now can help your body "
         "catch up with the fact that you're safe.",)),
    "trouble sleeping": _Scenario(
        ("I haven't slept more than a few hours a night in weeks.",
         "I lie awake until {late_hour} going over {trauma_ref} again and again.",
         "Every time I close my eyes my mind goes straight back to {trauma_ref}."),
        ("exhausted", "worn out", "wired", "frustrated", "desperate for rest"),
        ("so many broken nights", "how little sleep you've been getting"),
        ("sleep is often one of the first things trauma disrupts",
         "a nervous system stuck on alert finds it hard to switch off at night"),
        ("A steady wind-down routine before bed may help a little, and a doctor can talk through sleep "
         "options with you.",
         "If you wake up in the night, getting up for a few minutes and doing something calm can be kinder "
         "than lying there fighting it.")),
    "conflict with a partner": _Scenario(
        ("My {partner} and I had another fight last night, and I said things I didn't mean.",
         "My {partner} says I've changed since {trauma_ref}, and I know it's true.",
         "I snapped at my {partner} over nothing and then shut down completely."),
        ("guilty", "frustrated", "misunderstood", "ashamed", "alone"),
        ("the distance growing between you and your {partner}", "a fight with someone you love"),
        ("trauma often puts a real strain on close relationships",
         "irritability and pulling away are frequent after trauma, and they land hardest on the people "
         "closest to us"),
        ("When things are calmer, it might help to tell your {partner} a little about what these moments "
         "feel like from the inside.",
         "Couples sometimes find it useful to see a therapist together who understands trauma.")),
    "feeling numb": _Scenario(
        ("I don't feel much of anything anymore, not even at my {relative}'s birthday.",
         "People tell me good news and I just nod; it's like I'm behind glass.",
         "I used to love {hobby}, and now I can't be bothered."),
        ("numb", "empty", "disconnected", "flat", "cut off from everyone"),
        ("feeling shut off from the things you used to enjoy", "the world feeling so far away"),
        ("going numb is one way the mind protects itself from too much pain",
         "emotional shutdown is a common protective response after overwhelming experiences"),
        ("You might try one small thing you used to enjoy, like {hobby}, for just a few minutes, without "
         "expecting to feel anything in particular.",)),
    "shame and self-blame": _Scenario(
        ("I keep thinking I should have done something different back then.",
         "I can't stop replaying {trauma_ref} and asking why I didn't do more.",
         "Part of me is convinced that what happened was my fault."),
        ("ashamed", "guilty", "responsible", "small", "embarrassed"),
        ("blaming yourself for what happened", "replaying it and judging yourself so harshly"),
        ("survivors very often blame themselves, even when they had no real choice",
         "hindsight makes it look as if there were options that weren't really there in the moment"),
        ("It may help to ask what you would say to a friend who told you this same story.",)),
    "panic in public": _Scenario(
        ("I had a panic attack in the middle of the {public_place} today.",
         "My heart raced and I couldn't breathe when the {public_place} got crowded.",
         "I've started leaving the {public_place} whenever too many people are around."),
        ("panicked", "terrified", "humiliated", "trapped", "exposed"),
        ("panic hitting in a crowded place", "feeling trapped with so many people around"),
        ("panic in crowded places is a common reaction when the body is on high alert",
         "the alarm system of a body that has been through trauma can fire even when you're safe"),
        ("Next time you're in the {public_place}, it might help to stand near an exit and breathe out "
         "slowly, longer than you breathe in.",)),
    "returning to work": _Scenario(
        ("I'm supposed to go back to {work} on Monday after being off since {trauma_ref}.",
         "My first week back at {work} was a lot harder than I expected.",
         "People at {work} keep asking if I'm over it yet."),
        ("anxious", "nervous", "overwhelmed", "unprepared", "pressured"),
        ("going back to {work} while you're still healing", "the pressure to be back to normal at {work}"),
        ("returning to familiar routines after trauma often stirs up fear and fatigue",
         "it takes time for the nervous system to feel safe in everyday places again"),
        ("It could help to ask about a gradual return, or to plan a short break you can take when it gets "
         "to be too much.",)),
    "loneliness and isolation": _Scenario(
        ("I've stopped answering my friends' messages.",
         "I spend most weekends alone because it feels safer.",
         "Nobody around me understands what {trauma_ref} did to me."),
        ("lonely", "isolated", "misunderstood", "invisible", "alone"),
        ("pulling away from the people around you", "feeling that nobody really gets it"),
        ("withdrawing from others is a very common response after trauma",
         "when the world feels unsafe, staying away from people can feel like protection"),
        ("Reconnecting can start very small, like a short message to one person who has been kind to you.",
         "Some people find peer support groups for trauma survivors helpful, because everyone there gets it.")),
    "avoiding reminders": _Scenario(
        ("I take the long way just so I don't pass the place where it happened.",
         "I won't watch the news or anything that might remind me of {trauma_ref}.",
         "My life keeps getting smaller because I avoid anything connected to {trauma_ref}."),
        ("trapped", "tired", "frustrated", "scared", "stuck"),
        ("your world shrinking around what you avoid", "working so hard to steer clear of reminders"),
        ("avoidance is one of the most natural ways people try to cope after trauma",
         "steering away from reminders makes sense when they bring so much pain"),
        ("A trauma therapist can help you face reminders step by step, at a pace that feels manageable.",)),
    "starting therapy": _Scenario(
        ("I have my first therapy appointment on Thursday and I'm thinking of cancelling.",
         "My doctor wants me to try trauma therapy, but talking about {trauma_ref} terrifies me.",
         "I've been to two therapy sessions and I'm not sure I can keep going."),
        ("nervous", "scared", "unsure", "hesitant", "vulnerable"),
        ("facing something that scary in therapy", "deciding whether to keep going with therapy"),
        ("feeling nervous before trauma-focused therapy is very common",
         "almost everyone feels some fear about opening up about what they went through"),
        ("It's okay to tell your therapist that you're scared; setting the pace together is part of the work.",
         "You could write down one thing you want your therapist to know, in case it's hard to say out loud.")),
    "fear for loved ones": _Scenario(
        ("I panic whenever my {relative} is late coming home.",
         "I check the locks again and again because I'm afraid something will happen to my family.",
         "Since {trauma_ref}, I'm convinced something bad is going to happen to the people I love."),
        ("afraid", "anxious", "tense", "helpless", "on guard"),
        ("fearing for the people you love", "being constantly braced for something bad to happen"),
        ("after trauma the mind often stays on guard to protect the people we love",
         "feeling that danger is everywhere is a very common aftereffect of trauma"),
        ("It might help to agree on a simple check-in with your {relative}, so your mind has less to "
         "fill in on its own.",)),
}
SCENARIOS = tuple(_SCENARIO)

# Slot values drawn once per persona, so one persona's partner or hobby stays the same across dialogues.
_PARTNERS = ("partner", "wife", "husband", "girlfriend", "boyfriend", "fiancée", "spouse")
_RELATIVES = ("daughter", "son", "sister", "brother", "mom", "dad", "best friend", "niece", "grandson")
_HOBBIES = ("cooking", "hiking", "playing guitar", "gardening", "fishing", "painting", "running", "reading")
_PUBLIC_PLACES = ("grocery store", "bus", "mall", "movie theater", "train station", "restaurant", "church")
_LATE_HOURS = ("3 a.m.", "4 in the morning", "almost dawn", "2 a.m.")


# ---------------------------------------------------------------------------------------------------------
# Client turn fragments
# ---------------------------------------------------------------------------------------------------------

_OPENINGS = (
    "I don't really know how to say this.", "Can I talk about something?", "Hi.",
    "This is hard to put into words.", "I've been meaning to write this for a while.",
    "I need to get something off my chest.", "I'm not sure where to start.", "Okay, here goes.",
    "Sorry if this is a lot.", "I've never told anyone this part.", "It's been a rough few days.",
    "I don't usually talk about this stuff.",
)
_AGE_LINES = {  # keyed by age band, so that age shows up in how the client talks
    "young": ("I'm only {age}, and it feels like everyone my age has their life together.",
              "I'm {age} and I feel like this has stolen the years that were supposed to be the best."),
    "middle": ("I'm {age}, with people counting on me, and I can't afford to fall apart.",
               "I'm {age} and {a_occupation}, and I'm supposed to have it all handled."),
    "older": ("I'm {age}, and I thought by now this would have faded.",
              "At {age}, I figured I'd be past all this."),
}
_OCCUPATION_LINES = ("I'm {a_occupation}, so I can't exactly fall apart in front of people.",
                     "Being {a_occupation} doesn't leave much room for any of this.")
_FEELING_LINES = ("I feel so {feeling}.", "Mostly I just feel {feeling}.",
                  "Honestly, I'm {feeling} most of the time.",
                  "I'm so {feeling} I can barely think straight.", "Right now I feel {feeling}, and I hate it.",
                  "I've been feeling {feeling} for days.")
# Self-harm, said the many ways people say it (passive and active ideation, a plan, means, self-injury,
# burdensomeness; long and short, some in chat spelling), so that a detector is tested on paraphrases,
# not on one template.
_SELF_HARM_LINES = (
    "Some nights I don't want to be here anymore.", "I've thought about hurting myself.",
    "Lately I keep thinking everyone would be better off without me.",
    "I've started having thoughts about ending my life.", "Part of me wants to just disappear for good.",
    "I've been thinking about killing myself.",
    "Sometimes I think about not waking up, and it scares me less than it should.",
    "Last night I thought seriously about hurting myself.",
    "I want to end it all.", "I've been saving up my pills.", "I bought a rope today.", "honestly i just want to die",
    "I keep thinking about overdosing.", "I've been cutting myself again.", "I wrote a goodbye note last night.",
    "I don't see the point in living anymore.", "I've been looking at which bridge would be high enough.",
    "I wish I could go to sleep and never wake up.", "I'm going to end my life, I think this weekend.",
    "tbh i wanna kms", "There's no reason for me to keep living.", "I'd rather be dead than keep feeling this.",
    "I looked up how many pills it would take.", "I burned myself on purpose yesterday.",
    "I've started giving my things away so nobody has to deal with them later.",
    "My family would be better off without me.", "I can't do this anymore, I want it to be over for good.",
    "I keep thinking about jumping in front of a train.", "I've been thinking about suicide every day.",
    "I just want to stop existing.", "I'm suicidal and I don't trust myself tonight.",
)
# Ordinary turns sometimes carry words of risk that voice none: negated, about someone else, idioms. A
# detector that reads words and not who voices them flags these (the evaluation counts it).
_RISK_CONFOUNDER_LINES = (
    "I'm not suicidal or anything, I just can't switch off.", "I would never hurt myself, but I'm so worn out.",
    "I don't want to die, I just want the memories to stop.", "My cousin died by suicide a few years ago.",
    "A friend of mine tried to kill himself last year, and I still think about it.",
    "Work has been killing me lately.", "I'm dying for one good night of sleep.",
    "My brother cut himself when we were teenagers, and I never knew what to say.",
)
CONFOUNDER_RATE = 0.08  # share of ordinary client turns with one confounder line
_CLOSINGS = (
    "Is that normal?", "Does that make any sense?", "I don't know what to do.", "How do I make it stop?",
    "Am I broken?", "I just needed to tell someone.", "Will this ever get better?",
    "What's wrong with me?", "I'm tired of feeling like this.", "I don't know who else to tell.",
    "How do other people deal with this?", "I just want to feel like myself again.",
)


# ---------------------------------------------------------------------------------------------------------
# Reference reply fragments, one pool per factor
# ---------------------------------------------------------------------------------------------------------

_REPLY_OPENERS = ("Thank you for telling me this.", "I'm really glad you reached out.",
                  "Thank you for trusting me with something so personal.", "I'm glad you felt able to share this.")

_EMOTION_RECOGNITION = (
    "It sounds like you feel {feeling} right now, and with {gist}, that makes a lot of sense.",
    "I can hear how {feeling} you are, especially with {gist}.",
    "You sound really {feeling}, and {gist} would weigh on anyone.",
    "It seems like {gist} has left you feeling {feeling}.",
    "What I'm hearing is that you feel {feeling}, and that {gist} is a big part of it.",
    "That sounds so hard: feeling {feeling} like this, with {gist}, takes a lot out of a person.",
    "It makes sense that you'd feel {feeling} with {gist}.",
    "Feeling {feeling} the way you describe sounds exhausting, and I'm sorry you're dealing with {gist}.",
    "It sounds like part of you feels {feeling}, especially around {gist}.",
    "I'm picking up how {feeling} this has left you, and how much {gist} is weighing on you.",
    "You're carrying a lot right now, and it sounds like you feel {feeling} underneath it all.",
    "It sounds like {gist} has stirred up a lot, and that you're feeling {feeling} because of it.",
    "You've been feeling {feeling}, and I can tell {gist} has been hard on you.",
    "There's a lot in what you wrote, and feeling {feeling} seems to be right at the centre of it.",
    "I can imagine how {feeling} you must feel, carrying {gist}.",
)
_DISTRESS_NORMALIZATION = (
    "Many people who have lived through {event} struggle with {behavior} afterwards; it's a common way "
    "the mind and body react to trauma.",
    "What you're describing is a very human response to {event}, not a sign that something is wrong with you.",
    "It's understandable, because {norm}.",
    "{norm}, and a lot of people who have been through {event} describe exactly this.",
    "Experiences like {behavior} are common after {event}, and they don't mean you're weak or broken.",
    "You're not alone in this: {norm}, and your reaction makes sense.",
    "Reactions like yours are really common after {event}; they come from a nervous system that learned "
    "to protect you.",
    "Lots of people who have been through {event} go through this too, and it doesn't mean you're failing "
    "at getting better.",
    "This is a normal reaction to an abnormal experience, and living with {behavior} is something many "
    "trauma survivors know well.",
    "It may help to know that {norm}; what you're feeling is an understandable response, not a flaw.",
    "Anyone who has been through {event} could react this way; {norm}.",
    "Struggling with {behavior} after {event} is far more common than most people realise.",
    "Your mind and body are responding to something that was truly overwhelming, and {norm}.",
    "People often feel alone with this, but {norm}, especially after {event}.",
)
_REFLECTIONS = (  # first half of supportive reflection: the client's experience, reflected back
    "You've been carrying {gist} and still {strength}, which says a lot about you.",
    "Even with {gist}, you're still {strength}, and that matters.",
    "It sounds like what you want most is to feel safe again, and reaching out like this is part of "
    "getting there.",
    "You're clearly trying hard to cope with {gist}, and you don't have to do it all alone.",
    "I hear how much getting through this matters to you, even while {gist} keeps pulling at you.",
    "Part of you is hurting and part of you is still {strength}; both of those are real.",
    "What you went through changed things, and you're still {strength}.",
    "You're noticing what's happening to you with real honesty, and that's a meaningful first step.",
    "You've been dealing with {gist} for a while now, and you're still {strength}.",
    "Hearing you describe {gist}, I notice how much strength it takes just to keep going.",
    "You deserve the same care you'd give anyone else going through {gist}.",
)
_STRENGTHS = ("reaching out", "showing up as {a_occupation}", "looking for a way forward",
              "trying to take care of the people around you", "putting one foot in front of the other",
              "being honest about how hard this is",
              "finding words for something really hard", "caring about getting better")
_STEPS = (  # second half of supportive reflection: one gentle next step (never crisis wording)
    "When it hits, it might help to slow your breathing and name five things you can see around you.",
    "One small thing to try is pressing your feet into the floor and noticing the ground under you until "
    "the wave passes.",
    "You might try speaking to yourself the way you'd speak to a friend who'd been through the same thing.",
    "If you have a therapist, this could be worth bringing to your next session; trauma-focused therapies "
    "such as CPT, PE or EMDR help many people with exactly this.",
    "A therapist who specialises in trauma could help you work through this at your own pace.",
    "It could help to tell one person you trust a little of what's going on, so you're not holding it by "
    "yourself.",
    "Writing down what comes up, even a few lines, can make it feel a bit more manageable.",
    "Would it help to plan one small, kind thing for yourself today, like a short walk or a warm drink?",
    "Being gentle with yourself while this is so heavy is not weakness; it's part of healing.",
    "Your doctor or a counsellor can talk with you about options that fit you, whenever you feel ready.",
    "If it feels okay, try holding something cold or textured and describing it to yourself in detail to "
    "bring you back to the present.",
    "Going at your own pace is okay; small steps still count.",
    "It may help to notice when it starts and give yourself permission to take a break.",
    "You could keep a short list of things that help you feel steady and reach for it when things get hard.",
    "You might try placing a hand on your chest and breathing slowly for a minute, to remind your body that "
    "it's here and now.",
    "Some people find it steadying to keep a small object in their pocket to hold when things feel like too much.",
    "Talking this through with a trauma-informed professional could give you more tools for moments like these.",
    "It's okay to rest when you need to; recovering from trauma takes real energy.",
)

# Self-harm: recognition that names the pain, a crisis referral, and support that keeps people close.
_RISK_EMOTION_RECOGNITION = (
    "I'm so sorry you're hurting this much; it sounds like you feel {feeling} and completely worn down "
    "by {gist}.",
    "It sounds like the pain has become overwhelming, and feeling {feeling} on top of {gist} is a lot to carry.",
    "I can hear how {feeling} and exhausted you are, and how frightening these thoughts must be.",
    "What you're feeling sounds unbearable right now, and I can hear how {feeling} you are.",
)
_CRISIS_REFERRALS = (
    "Your safety matters most right now: please reach out right now to a crisis line such as 988 in the US, "
    "your local emergency number, or someone you trust.",
    "If you feel you might act on these thoughts, please call your local emergency number or go to the "
    "nearest emergency department now.",
    "Please contact a crisis line today; in the US you can call or text 988, and elsewhere your local "
    "emergency number can connect you with help.",
    "You don't have to get through this moment alone: please call or text a crisis line such as 988 in the "
    "US or Samaritans on 116 123 in the UK and Ireland, or contact emergency services.",
    "Please reach out to someone right now, whether that's a crisis line, emergency services, or a person "
    "you trust who can stay with you.",
    "Right now the most important step is talking to a person: a crisis line (988 in the US) or your local "
    "emergency services are there around the clock.",
)
_RISK_SUPPORTIVE_REFLECTION = (
    "You told me, and that took courage; you deserve support from people who can be with you through this.",
    "The pain you're carrying is real and you don't have to hold it alone; once you're safe, a trauma-focused "
    "therapist can keep supporting you.",
    "I'm really glad you said this out loud; these thoughts can ease with the right support, and you "
    "deserve that support.",
    "Staying connected matters right now; if you can, let a friend or family member know how you're "
    "feeling tonight.",
)



# ---------------------------------------------------------------------------------------------------------
# Composition
# ---------------------------------------------------------------------------------------------------------


def _article(noun: str) -> str:
    return ("an " if noun[0].lower() in "aeiou" else "a ") + noun


def _cap(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]


def _join(parts: list[tuple[str | None, str]]) -> tuple[str, list[dict]]:
    """Join (factor or None, text) parts with spaces; record each factor's exact character span."""
    text, spans = "", []
    for factor, part in parts:
        if text:
            text += " "
        start = len(text)
        text += _cap(part)
        if factor is not None:
            spans.append({"factor": factor, "start": start, "end": len(text)})
    return text, spans


def _client_turn(rng: random.Random, persona: dict, slots: dict, scenario: _Scenario, risk: bool,
                 voice: random.Random) -> str:
    """`voice` draws the self-harm and confounder lines: a stream of its own, so that adding lines to those
    pools leaves every other draw (and every reference reply) as it was."""
    def pick(pool):
        return rng.choice(pool).format(**slots)

    age = persona["age"]
    parts = []
    if rng.random() < 0.6:
        parts.append(pick(_OPENINGS))
    if rng.random() < 0.35:
        band = "young" if age < 30 else "older" if age >= 60 else "middle"
        parts.append(pick(_AGE_LINES[band] + _OCCUPATION_LINES))
    parts.append(pick(scenario.situations))
    if rng.random() < 0.6:
        parts.append(slots["behavior_line"])
    parts.append(pick(_FEELING_LINES))
    if risk:
        parts.append(voice.choice(_SELF_HARM_LINES))
    elif voice.random() < CONFOUNDER_RATE:
        parts.append(voice.choice(_RISK_CONFOUNDER_LINES))
    if rng.random() < 0.75:
        parts.append(pick(_CLOSINGS))
    return " ".join(_cap(p) for p in parts)


def _reference_reply(rng: random.Random, slots: dict, risk: bool) -> tuple[str, list[dict]]:
    def pick(pool):
        return rng.choice(pool).format(**slots)

    present = {f: rng.random() < FACTOR_RATE for f in FACTORS}
    if not any(present.values()):
        present[rng.choice(FACTORS)] = True
    parts: list[tuple[str | None, str]] = []
    if rng.random() < 0.25:
        parts.append((None, pick(_REPLY_OPENERS)))
    if risk:  # always recognise and refer; never normalise (see module docstring)
        parts.append(("emotion_recognition", pick(_RISK_EMOTION_RECOGNITION)))
        parts.append((None, pick(_CRISIS_REFERRALS)))
        if present["supportive_reflection"]:
            parts.append(("supportive_reflection", pick(_RISK_SUPPORTIVE_REFLECTION)))
        return _join(parts)
    if present["emotion_recognition"]:
        parts.append(("emotion_recognition", pick(_EMOTION_RECOGNITION)))
    if present["distress_normalization"]:
        parts.append(("distress_normalization", pick(_DISTRESS_NORMALIZATION)))
    if present["supportive_reflection"]:
        slots = {**slots, "gist": slots["gist2"], "strength": rng.choice(_STRENGTHS).format(**slots)}
        step = rng.choice(_STEPS + slots["scenario_steps"]).format(**slots)
        parts.append(("supportive_reflection", rng.choice(_REFLECTIONS).format(**slots) + " " + step))
    return _join(parts)


def generate_conversations(persona: dict, n: int, seed: int, self_harm_rate: float) -> list[dict]:
    """The persona's n dialogues (pure, deterministic in persona, n, seed and self_harm_rate)."""
    rng = random.Random(f"{seed}-{persona['persona_id']}-conversations")
    voice = random.Random(f"{seed}-{persona['persona_id']}-voice")
    trauma = _TRAUMA[persona["trauma_type"]]
    occupation = persona["occupation"]
    is_student = occupation in _STUDENT_OCCUPATIONS
    persona_slots = {
        "age": persona["age"],
        "occupation": occupation,
        "a_occupation": _article(occupation),
        "work": "classes" if is_student else "work",
        "event": trauma.event,
        "partner": rng.choice(_PARTNERS),
        "relative": rng.choice(_RELATIVES),
        "hobby": rng.choice(_HOBBIES),
        "public_place": rng.choice(_PUBLIC_PLACES),
    }
    # Every scenario once before any repeats (balanced per persona); retirees are not "returning to work".
    eligible = [s for s in SCENARIOS if not (s == "returning to work" and occupation.startswith("retired"))]
    order: list[str] = []
    while len(order) < n:
        order += rng.sample(eligible, len(eligible))

    conversations = []
    for k, name in enumerate(order[:n], start=1):
        scenario = _SCENARIO[name]
        years = rng.randint(1, max(1, min(30, persona["age"] - 17)))
        slots = {
            **persona_slots,
            "trauma_ref": rng.choice(trauma.refs),
            "trigger": rng.choice(trauma.triggers),
            "years": "a year" if years == 1 else f"{years} years",
            "late_hour": rng.choice(_LATE_HOURS),
            "feeling": rng.choice(scenario.feelings),
        }
        # One behaviour per dialogue: the client mentions it and the normalisation names the same one.
        behavior = _BEHAVIOR[rng.choice(persona["trauma_behaviors"])]
        slots["behavior"], slots["behavior_line"] = behavior.noun, rng.choice(behavior.lines)
        # Scenario fragments may themselves contain slots ("{partner}"), so fill them before use.
        # Two different gists, so recognition and reflection do not repeat the same phrase.
        gist, gist2 = rng.sample(scenario.gists, 2)
        slots["gist"], slots["gist2"] = gist.format(**slots), gist2.format(**slots)
        slots["norm"] = rng.choice(scenario.norms).format(**slots)
        slots["scenario_steps"] = scenario.steps
        risk = rng.random() < self_harm_rate
        person = _client_turn(rng, persona, slots, scenario, risk, voice)
        reply, spans = _reference_reply(rng, slots, risk)
        conversations.append({
            "conversation_id": k,
            "scenario": name,
            "person": person,
            "chatbot": reply,
            "factor_spans": spans,
            "risk": "self_harm" if risk else None,
        })
    return conversations


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_synthetic(out_dir, synthetic: SyntheticConfig) -> dict:
    """Write the synthetic TIDE of `synthetic` (data.synthetic) to out_dir, atomically; return stats about it.

    Everything is written into a staging sibling directory first and swapped onto out_dir at the end
    (tide.core.files.staged_dir), so an interrupted run leaves either the previous out_dir or the new
    one, never half a dataset. (A run killed with SIGKILL may leave a hidden `.NAME.tmp-*` sibling
    behind; out_dir itself is intact.)
    """
    started = time.perf_counter()
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir exists and is not a directory: {out}")
    with staged_dir(out) as staging:
        self_harm = _write_personas(staging, synthetic)
    n_personas = synthetic.n_personas
    return {
        "personas": n_personas,
        "dialogues": n_personas * synthetic.conversations_per_persona,
        "layout": synthetic.layout,
        "seed": synthetic.seed,
        "self_harm": self_harm,
        "seconds": round(time.perf_counter() - started, 3),
    }


def write_synthetic_tide(out_dir, n_personas: int = 500, conversations_per_persona: int = 20, seed: int = 0,
                         layout: str = "nested", self_harm_rate: float = 0.03) -> dict:
    """`write_synthetic` from keywords; a bad one raises ConfigError (a ValueError) naming it, before any write."""
    options = {"n_personas": n_personas, "conversations_per_persona": conversations_per_persona, "seed": seed,
               "layout": layout, "self_harm_rate": self_harm_rate}
    return write_synthetic(out_dir, build(SyntheticConfig, options))


def _write_personas(root: Path, synthetic: SyntheticConfig) -> int:
    """Every persona's metadata and conversation files under `root`; returns the self-harm dialogues written."""
    meta_dir = root / "metadata" if synthetic.layout == "nested" else root
    conv_dir = root / "conversations" if synthetic.layout == "nested" else root
    meta_dir.mkdir(exist_ok=True)
    conv_dir.mkdir(exist_ok=True)
    self_harm = 0
    for persona in generate_personas(synthetic.n_personas, synthetic.seed):
        pid = persona["persona_id"]
        conversations = generate_conversations(persona, synthetic.conversations_per_persona, synthetic.seed,
                                               synthetic.self_harm_rate)
        self_harm += sum(c["risk"] is not None for c in conversations)
        _write_json(meta_dir / f"{pid}_metadata.json", persona)
        _write_json(conv_dir / f"{pid}_conversations.json", conversations)
    return self_harm
