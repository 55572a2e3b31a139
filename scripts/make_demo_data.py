#!/usr/bin/env python
"""Generate the offline demo assets shipped in ``simcse_mini/demo/``.

Everything is produced from the small hand-written lexicon and sentence templates
below, so the demo needs no download and contains no copied text:

* ``corpus.txt``: unlabelled training sentences, one per line;
* ``train_triplets.csv``: supervised training rows ``sent0,sent1,hard_neg``, shaped like
  SimCSE's NLI file (see "Training triplets" below);
* ``sts_dev.tsv`` and ``sts_test.tsv``: STS-style pairs scored 0-5, whose sentences
  never occur in the corpus or the triplets (nor in the other file);
* ``encoder/``: the config of a tiny BERT (its weights are random, made at training
  time) and a whole-word WordPiece vocabulary and tokenizer covering every token of
  the files above, so nothing is ever ``[UNK]``.

The output is a pure function of ``--seed``: rerunning the script rewrites the same
bytes.

How sentences are made
----------------------
A sentence voices an *event*: an agent (with an optional number, adjective and
clothing) performs an action, optionally on an object, optionally in a place, with
an optional manner adverb and time phrase, in the present, present progressive or
past. Most concepts have several interchangeable surface forms ("guy"/"man",
"repair"/"fix", "on the road"/"on the street") and an event can be voiced in several
frames: active, passive, place first, "there is ...", questions, and two events
joined by "while", "and", "after" or "before".

How pairs are scored
--------------------
The gold score of an STS pair follows from how its two events relate:

5  the same event, reworded (synonyms, active/passive, word order)
4  the same event with one detail changed (manner, an adjective, clothing, time)
3  the same agent and action, another object and/or place
2  the same topic: the same kind of agent (person or animal) in the same place and
   activity domain, but another agent, action and object
1  exactly one shared element: the agent, or the place
0  nothing shared

Synonyms are the only thing linking, say, "purchase" to "buy": in the corpus they
merely occur in the same contexts, so an unsupervised model can only learn their
equivalence from its distribution; the training triplets state it explicitly.

Training triplets
-----------------
Each row is sent0, an event; sent1, the same event reworded (the score-5 relation);
and hard_neg, an event with the same agent and action but another object or place
(the score-3 relation, or score 2 for the few events without one), voiced in sent0's
frame where possible, so that it often shares more words with sent0 than sent1 does.
Contrastive training pushes hard_neg below sent1, which agrees with the gold order
(3 < 5). A score-4 event (one detail changed) would not: pushed away as a negative,
it contradicts its gold score next to 5 (in tuning runs it cost 3 to 7 points of dev
Spearman).

Usage: python scripts/make_demo_data.py [--seed 13] [--out simcse_mini/demo]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import random
from dataclasses import dataclass
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

# --------------------------------------------------------------------------- lexicon
# Alternatives are separated by "|": they are interchangeable surface forms of one
# concept. Verbs ending in "*" have no natural passive ("talk to*").

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_TOKENS = 64  # the encoder's max_position_embeddings; every sentence must fit


@dataclass(frozen=True)
class Noun:
    forms: str          # interchangeable singular forms, "|"-separated
    kind: str = "count"  # count | single (never plural) | plural (always) | mass | bare (no article) | the
    adjs: tuple[str, ...] = ()  # adjective classes that fit the noun


ADULT_ADJS = ("age", "height", "mood")
KID_ADJS = ("height", "mood")
ANIMAL_ADJS = ("size", "fur", "hunger", "animal_age")

NOUNS = {
    # people
    "man": Noun("man|guy|gentleman", adjs=ADULT_ADJS),
    "woman": Noun("woman|lady", adjs=ADULT_ADJS),
    "teacher": Noun("teacher|instructor", adjs=ADULT_ADJS),
    "student": Noun("student|pupil", adjs=KID_ADJS),
    "doctor": Noun("doctor|physician", adjs=ADULT_ADJS),
    "chef": Noun("chef|cook", adjs=ADULT_ADJS),
    "farmer": Noun("farmer", adjs=ADULT_ADJS),
    "officer": Noun("police officer|policeman", adjs=ADULT_ADJS),
    "musician": Noun("musician", adjs=ADULT_ADJS),
    "tourist": Noun("tourist|traveler", adjs=ADULT_ADJS),
    "artist": Noun("artist|painter", adjs=ADULT_ADJS),
    "worker": Noun("worker|laborer", adjs=ADULT_ADJS),
    "grandmother": Noun("grandmother|grandma", adjs=("height", "mood")),
    "athlete": Noun("athlete", adjs=ADULT_ADJS),
    "neighbor": Noun("neighbor", adjs=ADULT_ADJS),
    "boy": Noun("boy|lad", adjs=KID_ADJS),
    "girl": Noun("girl", adjs=KID_ADJS),
    "child": Noun("child|kid", adjs=KID_ADJS),
    # animals
    "dog": Noun("dog", adjs=ANIMAL_ADJS),
    "cat": Noun("cat|kitty", adjs=ANIMAL_ADJS),
    "horse": Noun("horse", adjs=ANIMAL_ADJS),
    "bird": Noun("bird", adjs=("size", "hunger")),
    "duck": Noun("duck", adjs=("size", "hunger")),
    "cow": Noun("cow", adjs=ANIMAL_ADJS),
    "goat": Noun("goat", adjs=ANIMAL_ADJS),
    "rabbit": Noun("rabbit|bunny", adjs=ANIMAL_ADJS),
    "squirrel": Noun("squirrel", adjs=("size", "hunger")),
    "monkey": Noun("monkey", adjs=("size", "hunger", "animal_age")),
    "mouse": Noun("mouse", adjs=("size",)),
    "butterfly": Noun("butterfly", adjs=("color",)),
    # food and drink
    "apple": Noun("apple", adjs=("color", "fresh")),
    "banana": Noun("banana"),
    "sandwich": Noun("sandwich", adjs=("size",)),
    "soup": Noun("soup", "mass", ("hot",)),
    "rice": Noun("rice", "mass"),
    "bread": Noun("bread", "mass", ("fresh",)),
    "pizza": Noun("pizza", adjs=("size", "hot")),
    "cake": Noun("cake", adjs=("size",)),
    "salad": Noun("salad", adjs=("fresh",)),
    "pasta": Noun("pasta|spaghetti", "mass", ("hot",)),
    "egg": Noun("egg", "plural", ("fresh",)),
    "fish": Noun("fish", adjs=("size", "fresh")),
    "vegetable": Noun("vegetable", "plural", ("fresh",)),
    "onion": Noun("onion", adjs=("size",)),
    "tomato": Noun("tomato", adjs=("fresh",)),
    "carrot": Noun("carrot", "plural", ("fresh",)),
    "potato": Noun("potato", "plural"),
    "meat": Noun("meat", "mass", ("fresh",)),
    "cheese": Noun("cheese", "mass"),
    "bone": Noun("bone", adjs=("size",)),
    "grass": Noun("grass", "mass", ("fresh",)),
    "hay": Noun("hay", "mass", ("fresh",)),
    "seed": Noun("seed", "plural"),
    "nut": Noun("nut", "plural"),
    "dinner": Noun("dinner|supper", "bare"),
    "breakfast": Noun("breakfast", "bare"),
    "water": Noun("water", "mass"),
    "coffee": Noun("coffee", "mass", ("hot",)),
    "tea": Noun("tea", "mass", ("hot",)),
    "milk": Noun("milk", "mass"),
    "juice": Noun("juice", "mass"),
    "strawberry": Noun("strawberry", "plural", ("fresh",)),
    "mushroom": Noun("mushroom", "plural"),
    # things
    "hat": Noun("hat|cap", adjs=("color",)),
    "shoe": Noun("shoe", "plural", ("color", "thing_age")),
    "book": Noun("book", adjs=("thing_age", "size")),
    "flower": Noun("flower", "plural", ("color",)),
    "bicycle": Noun("bicycle|bike", "single", adjs=("color", "thing_age")),
    "car": Noun("car|automobile", "single", adjs=("color", "thing_age")),
    "truck": Noun("truck|lorry", "single", adjs=("color", "thing_age")),
    "bus": Noun("bus", "single", adjs=("color",)),
    "tractor": Noun("tractor", "single", adjs=("color", "thing_age")),
    "motorcycle": Noun("motorcycle|motorbike", "single", adjs=("color", "thing_age")),
    "skateboard": Noun("skateboard", "single", adjs=("color",)),
    "bag": Noun("bag", adjs=("color", "size", "weight")),
    "box": Noun("box", adjs=("size", "weight")),
    "basket": Noun("basket", adjs=("size", "weight")),
    "suitcase": Noun("suitcase", adjs=("color", "weight")),
    "chair": Noun("chair", adjs=("color", "thing_age")),
    "ladder": Noun("ladder", "single", adjs=("thing_age",)),
    "umbrella": Noun("umbrella", adjs=("color",)),
    "newspaper": Noun("newspaper"),
    "magazine": Noun("magazine"),
    "letter": Noun("letter", adjs=("thing_age",)),
    "map": Noun("map", adjs=("thing_age",)),
    "story": Noun("story"),
    "note": Noun("note"),
    "report": Noun("report"),
    "poem": Noun("poem"),
    "guitar": Noun("guitar", "the"),
    "piano": Noun("piano", "the"),
    "violin": Noun("violin", "the"),
    "trumpet": Noun("trumpet", "the"),
    "flute": Noun("flute", "the"),
    "football": Noun("football|soccer", "bare"),
    "basketball": Noun("basketball", "bare"),
    "volleyball": Noun("volleyball", "bare"),
    "tennis": Noun("tennis", "bare"),
    "chess": Noun("chess", "bare"),
    "cards": Noun("cards", "bare"),
    "ball": Noun("ball", adjs=("color", "size")),
    "stick": Noun("stick", adjs=("size",)),
    "frisbee": Noun("frisbee", adjs=("color",)),
    "kite": Noun("kite", "single", adjs=("color",)),
    "stone": Noun("stone|rock", adjs=("size", "weight")),
    "door": Noun("door", "single", adjs=("color",)),
    "window": Noun("window", adjs=("size",)),
    "floor": Noun("floor", "the"),
    "dish": Noun("dish", "plural"),
    "table": Noun("table", adjs=("thing_age",)),
    "roof": Noun("roof", "the"),
    "fence": Noun("fence", "single", adjs=("color", "thing_age")),
    "wall": Noun("wall", "single", adjs=("thing_age",)),
    "clock": Noun("clock", "single", adjs=("thing_age",)),
    "radio": Noun("radio", "single", adjs=("thing_age",)),
    "computer": Noun("computer", "single", adjs=("thing_age",)),
    "phone": Noun("phone|cellphone", "single", adjs=("thing_age",)),
    "key": Noun("key", "plural"),
    "wallet": Noun("wallet", "single", adjs=("color",)),
    "gift": Noun("gift|present", adjs=("size",)),
    "bottle": Noun("bottle", adjs=("size",)),
    "house": Noun("house", "single", adjs=("color", "size")),
    "sandcastle": Noun("sandcastle", adjs=("size",)),
    "shed": Noun("shed", "single", adjs=("size",)),
    "tree": Noun("tree", adjs=("size",)),
    "hill": Noun("hill", "single"),
    "mountain": Noun("mountain", "single"),
    "hole": Noun("hole", "single", adjs=("size",)),
    "plant": Noun("plant", "plural"),
    "picture": Noun("picture|painting", adjs=("size",)),
    "portrait": Noun("portrait", "single"),
    "movie": Noun("movie|film", adjs=("thing_age",)),
    "match": Noun("match|game", "single"),
    "television": Noun("television|TV", "bare"),
    "sunset": Noun("sunset", "the"),
    "song": Noun("song|tune"),
    "bridge": Noun("bridge", "single", adjs=("thing_age",)),
    "taxi": Noun("taxi|cab", "single"),
    "train": Noun("train", "single"),
}

# Clothing worn by people: "a man in a red jacket".
CLOTHES = {"jacket": "jacket|coat", "hat": "hat|cap", "shirt": "shirt", "scarf": "scarf",
           "sweater": "sweater|pullover"}

# Adjective concept: (forms, classes it belongs to).
ADJECTIVES = {
    "old_p": ("old|elderly", {"age"}), "young_p": ("young", {"age"}),
    "tall": ("tall", {"height"}), "short": ("short", {"height"}),
    "happy": ("happy|cheerful", {"mood"}), "tired": ("tired|weary", {"mood"}),
    "busy": ("busy", {"mood"}),
    "big": ("big|large", {"size"}), "small": ("small|little", {"size"}),
    "red": ("red", {"color"}), "blue": ("blue", {"color"}), "green": ("green", {"color"}),
    "yellow": ("yellow", {"color"}), "black": ("black", {"color", "fur"}),
    "white": ("white", {"color", "fur"}), "brown": ("brown", {"fur"}), "gray": ("gray|grey", {"fur"}),
    "hungry": ("hungry", {"hunger"}), "old_a": ("old", {"animal_age"}), "young_a": ("young", {"animal_age"}),
    "old_t": ("old", {"thing_age"}), "new": ("new|brand new", {"thing_age"}),
    "fresh": ("fresh", {"fresh"}), "hot": ("hot|warm", {"hot"}), "heavy": ("heavy", {"weight"}),
}
CLOTHING_COLORS = ["red", "blue", "green", "yellow", "black", "white"]

# Manner adverbs. Those in POST_ONLY only go after the verb phrase ("reads aloud").
ADVERBS = {
    "quickly": "quickly|rapidly", "slowly": "slowly", "carefully": "carefully|cautiously",
    "quietly": "quietly|silently", "loudly": "loudly|noisily", "happily": "happily|cheerfully",
    "patiently": "patiently", "eagerly": "eagerly", "calmly": "calmly", "gently": "gently|softly",
    "angrily": "angrily", "lazily": "lazily", "gracefully": "gracefully|elegantly",
    "peacefully": "peacefully", "aloud": "aloud|out loud", "beautifully": "beautifully",
    "proudly": "proudly", "nervously": "nervously",
}
POST_ONLY = {"aloud"}

# Time phrases: (forms, tenses they fit).
TIMES = {
    "morning": ("in the morning|every morning", {"present"}),
    "evening": ("in the evening|every evening", {"present"}),
    "night": ("at night", {"present"}),
    "weekend": ("on weekends|at the weekend", {"present"}),
    "daily": ("every day|daily", {"present"}),
    "yesterday": ("yesterday", {"past"}),
    "last_night": ("last night", {"past"}),
    "last_week": ("last week", {"past"}),
    "earlier": ("earlier today|this morning", {"past"}),
    "now": ("right now|at the moment", {"progressive"}),
    "afternoon": ("this afternoon", {"progressive"}),
}
TENSES = ("present", "progressive", "past")

PLACES = {
    "park": "in the park|at the park", "beach": "on the beach|at the beach|on the shore",
    "sea": "in the sea|in the ocean", "kitchen": "in the kitchen",
    "market": "at the market|in the marketplace", "shop": "in the shop|in the store|at the store",
    "garden": "in the garden", "street": "on the street|on the road|in the street",
    "library": "in the library", "office": "in the office|at the office",
    "classroom": "in the classroom|in class", "restaurant": "in the restaurant|at the restaurant",
    "farm": "on the farm", "field": "in the field|in the meadow", "forest": "in the forest|in the woods",
    "river": "by the river|near the river|beside the river", "lake": "by the lake|near the lake|at the lake",
    "house": "at home|in the house", "living_room": "in the living room|in the lounge",
    "garage": "in the garage", "station": "at the station|at the train station",
    "hill": "on the hill|on the hillside", "stage": "on the stage|on stage", "zoo": "at the zoo|in the zoo",
    "pool": "in the pool|in the swimming pool", "sofa": "on the sofa|on the couch",
    "train": "on the train", "stadium": "at the stadium", "city": "in the city|in town",
    "bus_stop": "at the bus stop", "lawn": "on the grass|on the lawn", "bench": "on a bench",
}

ADULTS = ["man", "woman", "teacher", "student", "doctor", "chef", "farmer", "officer", "musician",
          "tourist", "artist", "worker", "grandmother", "athlete", "neighbor"]
KIDS = ["boy", "girl", "child"]
PEOPLE = ADULTS + KIDS
# Where each animal may be found; people may be anywhere an action allows.
ANIMAL_PLACES = {
    "dog": {"park", "garden", "beach", "street", "field", "forest", "farm", "house", "river", "lake",
            "sofa", "lawn", "living_room"},
    "cat": {"house", "garden", "kitchen", "living_room", "street", "farm", "sofa", "lawn"},
    "horse": {"farm", "field", "beach", "hill", "forest", "river"},
    "bird": {"garden", "park", "forest", "field", "lake", "river", "lawn"},
    "duck": {"lake", "river", "park", "farm"},
    "cow": {"farm", "field", "hill"},
    "goat": {"farm", "hill", "field"},
    "rabbit": {"garden", "field", "forest", "farm", "lawn"},
    "squirrel": {"park", "forest", "garden", "lawn"},
    "monkey": {"forest", "zoo"},
}
ANIMALS = list(ANIMAL_PLACES)


@dataclass(frozen=True)
class Action:
    """One way of doing an action concept: who may do it, to what, where and how.

    Several entries may share a ``concept`` (a person eats a sandwich in the kitchen,
    a cow eats grass in the field): pairs are scored on concepts, not entries.
    An empty ``objects`` makes the action intransitive; an empty ``places`` means the
    action is never given a place ("climbs the hill").
    """
    concept: str
    verbs: str
    agents: tuple[str, ...]
    objects: tuple[str, ...]
    places: tuple[str, ...]
    adverbs: tuple[str, ...]
    domain: str


def act(concept, verbs, agents, objects, places, adverbs, domain):
    return Action(concept, verbs, tuple(agents), tuple(objects.split()), tuple(places.split()),
                  tuple(adverbs.split()), domain)


EAT_ADV = "quickly slowly quietly happily eagerly"
MOVE_ADV = "quickly slowly carefully happily eagerly"
WORK_ADV = "carefully quickly slowly patiently calmly"
OUTDOOR = "park beach field garden forest hill river lake"

ACTIONS = [
    # food
    act("eat", "eat", PEOPLE, "apple banana sandwich soup rice bread pizza cake salad pasta fish",
        "kitchen restaurant park garden beach office house train bench", EAT_ADV, "food"),
    act("eat", "eat", ["dog"], "bone meat", "garden house kitchen farm lawn", EAT_ADV, "food"),
    act("eat", "eat", ["cat"], "fish meat", "kitchen house garden", EAT_ADV, "food"),
    act("eat", "eat", ["horse", "cow", "goat", "rabbit"], "grass hay carrot", "farm field hill garden",
        EAT_ADV, "food"),
    act("eat", "eat", ["bird", "duck"], "seed bread", "park garden lake river lawn", EAT_ADV, "food"),
    act("eat", "eat", ["squirrel", "monkey"], "nut banana", "park forest zoo garden", EAT_ADV, "food"),
    act("drink", "drink", PEOPLE, "water coffee tea milk juice",
        "kitchen restaurant office house train station garden", "slowly quickly quietly eagerly", "food"),
    act("drink", "drink", ["dog", "cat", "horse", "cow", "goat"], "water milk", "farm kitchen garden field",
        "slowly quickly eagerly", "food"),
    act("cook", "cook|prepare|make", PEOPLE, "soup rice dinner breakfast pasta egg fish vegetable pizza",
        "kitchen restaurant house", "carefully quickly slowly happily", "food"),
    act("cut", "cut|slice|chop", PEOPLE, "onion tomato carrot potato bread cake apple meat vegetable",
        "kitchen restaurant", "carefully quickly slowly", "food"),
    act("graze", "graze", ["cow", "horse", "goat"], "", "field farm hill", "slowly quietly peacefully lazily",
        "food"),
    # shopping
    act("buy", "buy|purchase", PEOPLE, "apple bread fish flower vegetable cheese egg strawberry basket",
        "market shop", "quickly eagerly happily carefully", "shopping"),
    act("buy", "buy|purchase", PEOPLE, "hat shoe book bicycle umbrella bag newspaper phone gift",
        "shop city station", "quickly eagerly happily carefully", "shopping"),
    act("sell", "sell", ADULTS, "apple bread fish flower vegetable cheese egg hat basket strawberry",
        "market street shop", "happily patiently quickly", "shopping"),
    act("sell", "sell", ADULTS, "newspaper magazine umbrella", "station street", "happily patiently quickly",
        "shopping"),
    # reading and writing
    act("read", "read", PEOPLE, "book newspaper letter magazine map story poem note",
        "library park office train living_room classroom garden station beach house bench",
        "quietly slowly carefully eagerly aloud", "reading"),
    act("write", "write", PEOPLE, "letter story note report poem", "office classroom library kitchen house",
        "quietly slowly carefully quickly", "reading"),
    act("study", "study", PEOPLE, "", "library classroom house office", "quietly carefully patiently",
        "reading"),
    # music
    act("play_music", "play", PEOPLE, "guitar piano violin trumpet flute",
        "stage living_room street park house station", "loudly quietly beautifully happily slowly gently",
        "music"),
    act("sing", "sing", PEOPLE, "song", "stage street kitchen park house classroom",
        "loudly quietly beautifully happily gently", "music"),
    act("dance", "dance", PEOPLE, "", "stage park street living_room beach house",
        "happily slowly gracefully", "music"),
    # sport and play
    act("play_game", "play", PEOPLE, "football basketball volleyball", "park field beach stadium",
        "happily eagerly", "play"),
    act("play_game", "play", PEOPLE, "tennis", "park", "happily eagerly", "play"),
    act("play_game", "play", PEOPLE, "chess cards", "park house living_room classroom train",
        "quietly calmly patiently", "play"),
    act("kick", "kick", PEOPLE, "ball stone", "park field street beach garden", "gently angrily", "play"),
    act("throw", "throw|toss", PEOPLE, "ball stone stick frisbee", "park beach field garden river lake",
        "gently quickly", "play"),
    act("catch", "catch", PEOPLE + ["dog"], "ball frisbee", "park beach field garden", "quickly", "play"),
    act("catch", "catch", ["cat"], "mouse", "house kitchen garden farm", "quickly quietly", "play"),
    act("fish", "catch", ADULTS + KIDS, "fish", "river lake sea", "patiently quickly", "play"),
    act("fly_kite", "fly", PEOPLE, "kite", "beach park field hill", "happily", "play"),
    act("chase", "chase|run after*", ["dog"], "cat ball squirrel rabbit duck bird",
        "park garden field farm beach street", "happily eagerly quickly", "play"),
    act("chase", "chase|run after*", ["cat"], "mouse bird ball butterfly", "garden house kitchen farm",
        "quickly quietly", "play"),
    act("chase", "chase|run after*", KIDS, "ball dog duck butterfly", "park garden field beach",
        "happily eagerly quickly", "play"),
    act("fetch", "fetch|retrieve", ["dog"], "ball stick frisbee", "park beach field garden",
        "happily eagerly quickly", "play"),
    act("carry", "carry", ["dog"], "stick ball", "park beach garden field", "proudly happily", "play"),
    # getting around
    act("ride", "ride", PEOPLE, "bicycle horse skateboard", "street park beach", MOVE_ADV, "travel"),
    act("ride", "ride", ADULTS, "motorcycle", "street city", "quickly slowly carefully", "travel"),
    act("ride", "ride", PEOPLE, "horse", "farm field hill forest", MOVE_ADV, "travel"),
    act("drive", "drive", ADULTS, "car truck bus", "street city", "slowly carefully quickly calmly", "travel"),
    act("drive", "drive", ["farmer", "worker", "man", "woman"], "tractor", "farm field",
        "slowly carefully", "travel"),
    act("wait_for", "wait for*", PEOPLE, "bus train taxi", "station street bus_stop", "patiently calmly nervously",
        "travel"),
    act("wait", "wait", PEOPLE, "", "station street bus_stop office restaurant", "patiently calmly nervously",
        "travel"),
    # repairs and chores
    act("fix", "fix|repair", ADULTS, "bicycle car truck motorcycle", "garage street", WORK_ADV, "repair"),
    act("fix", "fix|repair|mend", ADULTS, "chair roof fence clock radio door window", "house garden",
        WORK_ADV, "repair"),
    act("fix", "fix|repair", ADULTS, "computer radio clock phone", "office house", WORK_ADV, "repair"),
    act("fix", "fix|repair|mend", ["farmer", "worker", "man", "woman"], "fence tractor", "farm", WORK_ADV,
        "repair"),
    act("paint_surface", "paint", ADULTS, "fence wall door shed", "garden farm", WORK_ADV, "repair"),
    act("paint_surface", "paint", ADULTS, "house", "city farm", WORK_ADV, "repair"),
    act("build", "build|construct", ADULTS, "fence wall shed", "garden farm", WORK_ADV, "repair"),
    act("build", "build|construct", ADULTS, "house", "city farm", WORK_ADV, "repair"),
    act("build", "build|make", KIDS, "sandcastle", "beach", "happily carefully", "play"),
    act("clean", "clean|wash", PEOPLE, "car bicycle", "garage street", WORK_ADV, "chores"),
    act("clean", "clean|wash|scrub", PEOPLE, "window floor table", "house kitchen office classroom restaurant",
        WORK_ADV, "chores"),
    act("clean", "wash|clean", PEOPLE, "dish", "kitchen restaurant", WORK_ADV, "chores"),
    act("carry", "carry", PEOPLE, "box bag basket chair ladder suitcase umbrella",
        "street station market house office garden", "carefully slowly quickly", "chores"),
    act("pick_up", "pick up|lift", PEOPLE, "box bag basket suitcase chair stone",
        "street station house office garden", "carefully slowly quickly", "chores"),
    act("open", "open", PEOPLE, "door window box gift letter bottle", "house office kitchen living_room classroom",
        "slowly carefully quickly gently", "chores"),
    act("look_for", "look for*|search for*", PEOPLE, "key wallet phone book", "house office living_room street",
        "nervously patiently carefully", "chores"),
    act("look_for", "look for*|search for*", PEOPLE, "cat dog", "garden park street", "nervously patiently",
        "chores"),
    # art
    act("paint_picture", "paint", PEOPLE, "picture portrait", "park garden living_room beach classroom",
        "carefully slowly beautifully", "art"),
    act("draw", "draw|sketch", PEOPLE, "picture map tree horse flower", "park garden classroom living_room",
        "carefully slowly quickly", "art"),
    act("photograph", "photograph|take a picture of*|take a photo of*", PEOPLE, "sunset", "beach hill lake",
        "carefully", "art"),
    act("photograph", "photograph|take a picture of*|take a photo of*", PEOPLE, "flower bird tree",
        "garden park field forest", "carefully quickly", "art"),
    act("photograph", "photograph|take a picture of*|take a photo of*", PEOPLE, "bridge", "river city",
        "carefully", "art"),
    act("photograph", "photograph|take a picture of*|take a photo of*", PEOPLE, "mountain", "",
        "carefully", "art"),
    # leisure
    act("watch", "watch", PEOPLE, "movie television", "living_room house", "quietly happily calmly", "leisure"),
    act("watch", "watch", PEOPLE, "match", "stadium park living_room", "eagerly happily nervously", "leisure"),
    act("watch", "watch", PEOPLE, "sunset", "beach hill lake", "quietly calmly", "leisure"),
    act("watch", "watch", PEOPLE + ["cat"], "bird", "park forest garden lake", "quietly patiently", "leisure"),
    # gardening
    act("plant", "plant", PEOPLE, "tree flower seed tomato carrot potato", "garden farm field park",
        "carefully patiently happily", "garden"),
    act("water", "water", PEOPLE, "plant flower tree", "garden farm house park", "gently carefully", "garden"),
    act("pick", "pick|gather|collect", PEOPLE, "apple flower tomato strawberry", "garden farm field",
        "carefully quickly happily", "garden"),
    act("pick", "pick|gather|collect", PEOPLE, "mushroom", "forest field", "carefully quickly", "garden"),
    act("dig", "dig", PEOPLE + ["dog", "rabbit"], "hole", "garden beach field farm", "quickly eagerly", "garden"),
    # animals
    act("feed", "feed", PEOPLE, "duck bird", "park lake river", "happily gently", "animals"),
    act("feed", "feed", PEOPLE, "horse cow goat duck", "farm field", "carefully gently", "animals"),
    act("feed", "feed", PEOPLE, "dog cat", "kitchen house garden", "happily gently", "animals"),
    act("feed", "feed", PEOPLE, "monkey", "zoo", "carefully", "animals"),
    act("walk_dog", "walk", PEOPLE, "dog", "park street beach forest river", "slowly happily", "animals"),
    act("brush", "brush|groom", PEOPLE, "horse dog cat", "farm house garden", "gently carefully", "animals"),
    # people together
    act("help", "help|assist", PEOPLE, " ".join(PEOPLE), "street station kitchen classroom office garden market",
        "patiently happily", "social"),
    act("talk_to", "talk to*|speak to*|chat with*", PEOPLE, " ".join(PEOPLE),
        "street station office classroom market restaurant park", "quietly happily calmly loudly", "social"),
    # moving about
    act("run", "run", PEOPLE + ["dog", "cat", "horse", "rabbit", "goat", "squirrel"], "",
        "park beach street field forest hill farm lawn", "quickly slowly happily eagerly", "exercise"),
    act("walk", "walk|stroll", PEOPLE + ["dog", "horse", "cow", "duck"], "",
        "park beach street forest river hill field city", "slowly happily calmly", "exercise"),
    act("jump", "jump|leap", PEOPLE + ["dog", "cat", "horse", "rabbit", "goat", "squirrel", "monkey"], "",
        "park beach field garden pool stage lawn", "happily eagerly gracefully", "exercise"),
    act("swim", "swim", PEOPLE + ["dog", "duck", "horse"], "", "river lake sea pool",
        "slowly quickly happily calmly", "exercise"),
    act("fly", "fly", ["bird", "duck"], "", "forest field lake river park garden hill",
        "slowly quickly gracefully", "exercise"),
    act("hop", "hop", ["rabbit", "bird"], "", "garden field park forest lawn", "happily quickly", "exercise"),
    act("climb", "climb", PEOPLE, "tree", "park forest garden farm", "carefully slowly quickly", "exercise"),
    act("climb", "climb", PEOPLE, "hill mountain", "", "slowly carefully", "exercise"),
    act("climb", "climb", PEOPLE, "ladder wall fence", "garden farm house park", "carefully slowly", "exercise"),
    act("climb", "climb", ["cat", "monkey", "squirrel"], "tree", "garden park forest zoo", "quickly gracefully",
        "exercise"),
    act("climb", "climb", ["goat"], "hill", "", "slowly", "exercise"),
    # rest
    act("sleep", "sleep|nap", PEOPLE + ANIMALS, "", "sofa house beach park train garden lawn living_room farm",
        "peacefully quietly lazily", "rest"),
    act("sit", "sit", PEOPLE + ["dog", "cat"], "", "sofa bench lawn beach park garden",
        "quietly calmly patiently lazily", "rest"),
    act("relax", "rest|relax", PEOPLE, "", "beach garden park sofa hill", "calmly peacefully lazily", "rest"),
    # noise
    act("bark", "bark", ["dog"], "", "park garden street farm field house", "loudly angrily happily", "noise"),
    act("laugh", "laugh", PEOPLE, "", "classroom park living_room restaurant office", "loudly happily", "noise"),
    act("cry", "cry|weep", KIDS + ["woman", "man"], "", "classroom park house street", "quietly loudly", "noise"),
    act("shout", "shout|yell", PEOPLE, "", "street park classroom field stage", "loudly angrily happily", "noise"),
]

# --------------------------------------------------------------------------- morphology

IRREGULAR_PLURALS = {"man": "men", "woman": "women", "child": "children", "gentleman": "gentlemen",
                     "policeman": "policemen", "fish": "fish", "mouse": "mice", "scarf": "scarves"}
IRREGULAR_VERBS = {  # base: (past, past participle)
    "eat": ("ate", "eaten"), "buy": ("bought", "bought"), "sell": ("sold", "sold"), "read": ("read", "read"),
    "write": ("wrote", "written"), "ride": ("rode", "ridden"), "drive": ("drove", "driven"),
    "make": ("made", "made"), "cut": ("cut", "cut"), "throw": ("threw", "thrown"), "sing": ("sang", "sung"),
    "build": ("built", "built"), "take": ("took", "taken"), "run": ("ran", "run"), "swim": ("swam", "swum"),
    "sleep": ("slept", "slept"), "sit": ("sat", "sat"), "fly": ("flew", "flown"), "drink": ("drank", "drunk"),
    "feed": ("fed", "fed"), "leap": ("leapt", "leapt"), "catch": ("caught", "caught"), "draw": ("drew", "drawn"),
    "speak": ("spoke", "spoken"), "dig": ("dug", "dug"), "weep": ("wept", "wept"),
}
DOUBLED_FINAL = {"run", "cut", "chop", "swim", "sit", "nap", "hop", "dig", "chat", "scrub"}
BE = {("present", False): "is", ("present", True): "are", ("past", False): "was", ("past", True): "were"}


def plural(noun: str) -> str:
    """English plural of a (possibly multi-word) noun: the last word inflects."""
    head, _, last = noun.rpartition(" ")
    if last in IRREGULAR_PLURALS:
        last = IRREGULAR_PLURALS[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")) or last in ("tomato", "potato"):
        last += "es"
    elif last.endswith("y") and last[-2] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def inflect(verb: str, form: str) -> str:
    """Inflect the first word of a verb phrase: form is base, s, ing, past or pp."""
    head, _, rest = verb.partition(" ")
    if form == "s":
        if head.endswith(("s", "x", "z", "ch", "sh")):
            head += "es"
        elif head.endswith("y") and head[-2] not in "aeiou":
            head = head[:-1] + "ies"
        else:
            head += "s"
    elif form == "ing":
        if head in DOUBLED_FINAL:
            head += head[-1]
        elif head.endswith("e") and not head.endswith("ee"):
            head = head[:-1]
        head += "ing"
    elif form in ("past", "pp"):
        if head in IRREGULAR_VERBS:
            head = IRREGULAR_VERBS[head][form == "pp"]
        elif head in DOUBLED_FINAL:
            head += head[-1] + "ed"
        elif head.endswith("e"):
            head += "d"
        elif head.endswith("y") and head[-2] not in "aeiou":
            head = head[:-1] + "ied"
        else:
            head += "ed"
    return f"{head} {rest}" if rest else head


def with_article(article: str, words: list[str]) -> list[str]:
    """Prefix an article, turning "a" into "an" before a vowel."""
    if article == "a" and words[0][0] in "aeiou":
        article = "an"
    return [article, *words]


def finish(words: list[str], mark: str) -> str:
    """Join words into a sentence: capitalised, commas attached, final punctuation."""
    text = " ".join(words).replace(" ,", ",")
    return text[0].upper() + text[1:] + mark


# --------------------------------------------------------------------------- events

@dataclass(frozen=True)
class Event:
    action: Action
    agent: str
    count: int = 1                          # how many agents: 1, 2 or 3
    agent_adj: str | None = None
    clothing: tuple[str, str] | None = None  # (color, CLOTHES key), people only
    obj: str | None = None
    obj_plural: bool = False
    obj_adj: str | None = None
    place: str | None = None
    adverb: str | None = None
    time: str | None = None
    tense: str = "present"

    @property
    def domain(self) -> str:
        return self.action.domain


def adjectives_for(noun: str) -> list[str]:
    classes = set(NOUNS[noun].adjs)
    return [adj for adj, (_, adj_classes) in ADJECTIVES.items() if adj_classes & classes]


def times_for(tense: str) -> list[str]:
    return [t for t, (_, tenses) in TIMES.items() if tense in tenses]


def places_for(action: Action, agent: str) -> list[str]:
    return [p for p in action.places if agent not in ANIMAL_PLACES or p in ANIMAL_PLACES[agent]]


def objects_for(action: Action, agent: str) -> list[str]:
    return [o for o in action.objects if o != agent]


def can_do(action: Action, agent: str) -> bool:
    return agent in action.agents and (not action.places or bool(places_for(action, agent))) and (
        not action.objects or bool(objects_for(action, agent)))


def maybe(rng: random.Random, p: float, options: list):
    """A random element of options with probability p, else None."""
    return rng.choice(options) if options and rng.random() < p else None


def random_event(rng: random.Random, actions=ACTIONS, agents=None, tense=None) -> Event | None:
    """A random event using one of ``actions`` and (optionally) one of ``agents``."""
    action = rng.choice(actions)
    candidates = [a for a in action.agents if (agents is None or a in agents) and can_do(action, a)]
    if not candidates:
        return None
    agent = rng.choice(candidates)
    tense = tense or rng.choice(TENSES)
    obj = rng.choice(objects_for(action, agent)) if action.objects else None
    kind = NOUNS[obj].kind if obj else None
    place = rng.choice(places_for(action, agent)) if action.places and rng.random() < 0.8 else None
    return Event(
        action=action, agent=agent, tense=tense,
        count=rng.choice([2, 3]) if rng.random() < 0.15 else 1,
        agent_adj=maybe(rng, 0.25, adjectives_for(agent)),
        clothing=(rng.choice(CLOTHING_COLORS), rng.choice(list(CLOTHES)))
        if agent in PEOPLE and rng.random() < 0.15 else None,
        obj=obj, obj_plural=kind == "plural" or (kind == "count" and rng.random() < 0.3),
        obj_adj=maybe(rng, 0.25, adjectives_for(obj)) if obj else None,
        place=place,
        adverb=maybe(rng, 0.4, list(action.adverbs)),
        time=maybe(rng, 0.25, times_for(tense)),
    )


# --------------------------------------------------------------------------- realisation

STOPWORDS = {"a", "an", "the", "of", "to", "with", "in", "on", "at", "by", "up", "for", "every", "this"}


def word_variants(phrase: str) -> set[str]:
    """The content words of a phrase with their plural and verb inflections."""
    words = set(phrase.lower().rstrip("*").split()) - STOPWORDS
    return words | {plural(w) for w in words} | {inflect(w, f) for w in words for f in ("s", "ing", "past", "pp")}


class Realiser:
    """Turns events into words, choosing synonyms and frames at random.

    ``avoid`` holds words to stay away from when a synonym allows it: used to
    reword a sentence for a score-5 pair.
    """

    def __init__(self, rng: random.Random, avoid: frozenset[str] = frozenset()):
        self.rng = rng
        self.avoid = avoid

    def pick(self, forms: str, allowed=lambda form: True) -> str:
        options = [f for f in forms.split("|") if allowed(f)]
        fresh = [f for f in options if not self.avoid & word_variants(f)]
        return self.rng.choice(fresh or options)

    # noun phrases
    def agent_phrase(self, e: Event, definite: bool | None = None) -> list[str]:
        """The agent with its adjective and clothing; definite None means either article."""
        if definite is None:
            definite = self.rng.random() < 0.4
        noun = self.pick(NOUNS[e.agent].forms)
        words = [self.pick(ADJECTIVES[e.agent_adj][0])] if e.agent_adj else []
        if e.count > 1:
            words = [*(["the"] if definite else []), ["two", "three"][e.count - 2], *words, plural(noun)]
        else:
            words = with_article("the" if definite else "a", [*words, noun])
        if e.clothing:
            color, item = e.clothing
            item = self.pick(CLOTHES[item])
            worn = [color, plural(item)] if e.count > 1 else with_article("a", [color, item])
            style = self.rng.choice(["in", "wearing", "who"])
            if style == "who":
                be = BE[("past" if e.tense == "past" else "present", e.count > 1)]
                words += ["who", be, "wearing", *worn]
            else:
                words += [style, *worn]
        return words

    def object_phrase(self, e: Event) -> list[str]:
        kind = NOUNS[e.obj].kind
        noun = self.pick(NOUNS[e.obj].forms)
        if e.obj_plural:
            noun = plural(noun)
        words = [self.pick(ADJECTIVES[e.obj_adj][0])] if e.obj_adj else []
        words.append(noun)
        if kind == "the":
            return ["the", *words]
        if kind == "bare":
            return words
        if kind in ("count", "single") and not e.obj_plural:
            return with_article(self.rng.choice(["a", "the"]), words)
        article = self.rng.choice(["", "some", "the"])  # plural or mass nouns
        return [article, *words] if article else words

    def place_phrase(self, e: Event) -> list[str]:
        return self.pick(PLACES[e.place]).split() if e.place else []

    def time_phrase(self, e: Event) -> list[str]:
        return self.pick(TIMES[e.time][0]).split() if e.time else []

    def adverb(self, e: Event) -> str:
        return self.pick(ADVERBS[e.adverb])

    # verb phrases
    def verb(self, e: Event, passive: bool = False) -> str:
        return self.pick(e.action.verbs, lambda v: not v.endswith("*") or not passive).rstrip("*")

    def frames(self, e: Event) -> list[str]:
        frames = ["active"]
        if e.obj and any(not v.endswith("*") for v in e.action.verbs.split("|")):
            frames.append("passive")
        if e.place:
            frames.append("fronted")
        if e.tense == "progressive":
            frames.append("there")
        return frames

    def clause(self, e: Event, frame: str) -> list[str]:
        """The words of a declarative clause in the given frame, without final punctuation."""
        adverb = self.adverb(e) if e.adverb else None
        pre = adverb if adverb and e.adverb not in POST_ONLY and self.rng.random() < 0.5 else None
        post = [adverb] if adverb and not pre else []
        time = self.time_phrase(e)
        time_first = bool(time) and frame != "there" and self.rng.random() < 0.3
        place = self.place_phrase(e)

        if frame == "passive":
            be = BE[("past" if e.tense == "past" else "present", e.obj_plural)]
            aux = [be, "being"] if e.tense == "progressive" else [be]
            verb = inflect(self.verb(e, passive=True), "pp")
            words = [*self.object_phrase(e), *aux, *([pre] if pre else []), verb, *post,
                     "by", *self.agent_phrase(e), *place]
        else:
            verb = self.verb(e)
            obj = self.object_phrase(e) if e.obj else []
            if frame == "there":
                be = BE[("present", e.count > 1)]
                words = ["there", be, *self.agent_phrase(e, definite=False), *([pre] if pre else []),
                         inflect(verb, "ing"), *obj, *post, *place]
            elif frame == "fronted":
                words = [*place, ",", *self.agent_phrase(e), *self.verb_group(e, verb, pre), *obj, *post]
            else:
                words = [*self.agent_phrase(e), *self.verb_group(e, verb, pre), *obj, *post, *place]
        if time_first:
            return [*time, ",", *words]
        return [*words, *time]

    def verb_group(self, e: Event, verb: str, pre: str | None) -> list[str]:
        """The finite verb (with auxiliary and pre-verbal adverb) agreeing with the agent."""
        adverb = [pre] if pre else []
        if e.tense == "progressive":
            return [BE[("present", e.count > 1)], *adverb, inflect(verb, "ing")]
        form = "past" if e.tense == "past" else ("s" if e.count == 1 else "base")
        return [*adverb, inflect(verb, form)]

    def statement(self, e: Event, frame: str | None = None) -> tuple[str, str]:
        """A declarative sentence and the frame it used."""
        frame = frame or self.rng.choice(self.frames(e))
        return finish(self.clause(e, frame), "."), frame

    def question(self, e: Event) -> str:
        """A yes/no or wh- question about the event."""
        kinds = ["yes_no", "why"] + (["who"] if e.agent in PEOPLE else []) + (["where"] if e.place else [])
        kinds += ["what"] if e.obj else []
        kind = self.rng.choice(kinds)
        verb = self.verb(e)
        obj = self.object_phrase(e) if e.obj and kind != "what" else []
        place = self.place_phrase(e) if kind != "where" else []
        tail = [*obj, *place, *self.time_phrase(e)]
        if kind == "who":
            return finish(["who", *self.verb_group(dataclasses.replace(e, count=1), verb, None), *tail], "?")
        if e.tense == "progressive":
            aux, main = BE[("present", e.count > 1)], inflect(verb, "ing")
        else:
            aux, main = ("did" if e.tense == "past" else "does" if e.count == 1 else "do"), verb
        words = [aux, *self.agent_phrase(e, definite=True), main, *tail]
        if kind == "what" and e.obj in PEOPLE:
            words = ["who", *words]
        elif kind != "yes_no":
            words = [kind, *words]
        return finish(words, "?")


# --------------------------------------------------------------------------- corpus

def two_event_sentence(rng: random.Random, first: Event) -> str | None:
    """Join ``first`` with a second event that fits the same place (where it has one)."""
    for _ in range(50):
        second = random_event(rng, tense=first.tense)
        if second is None or second.agent == first.agent:
            continue
        if first.place:
            if first.place not in places_for(second.action, second.agent):
                continue
            second = dataclasses.replace(second, place=None, time=None)
        break
    else:
        return None
    realiser = Realiser(rng)
    one = realiser.clause(first, rng.choice([f for f in realiser.frames(first) if f != "there"]))
    two = realiser.clause(second, rng.choice([f for f in realiser.frames(second) if f not in ("there", "fronted")]))
    if first.tense == "past":
        link = rng.choice(["after", "before", "and", "while"])
    else:
        link = rng.choice(["while", "and"])
    if link != "and" and "," not in one and rng.random() < 0.4:
        return finish([link, *two, ",", *one], ".")
    return finish([*one, *([","] if link == "and" else []), link, *two], ".")


def corpus_sentence(rng: random.Random) -> str | None:
    event = random_event(rng)
    if event is None:
        return None
    roll = rng.random()
    if roll < 0.62:
        return Realiser(rng).statement(event)[0]
    if roll < 0.8:
        return Realiser(rng).question(event)
    return two_event_sentence(rng, event)


def make_corpus(rng: random.Random, size: int, held_out: set[str]) -> list[str]:
    """``size`` distinct sentences, none of which is in ``held_out``."""
    seen: set[str] = set()
    sentences = []
    while len(sentences) < size:
        sentence = corpus_sentence(rng)
        if sentence and sentence not in seen and sentence not in held_out:
            seen.add(sentence)
            sentences.append(sentence)
    return sentences


# --------------------------------------------------------------------------- STS pairs

def shared(a: Event, b: Event) -> set[str]:
    """The elements two events share; tense is ignored."""
    pairs = {"agent": (a.agent, b.agent), "action": (a.action.concept, b.action.concept),
             "domain": (a.domain, b.domain), "object": (a.obj, b.obj), "place": (a.place, b.place),
             "agent_adj": (a.agent_adj, b.agent_adj), "clothing": (a.clothing, b.clothing),
             "obj_adj": (a.obj_adj, b.obj_adj), "adverb": (a.adverb, b.adverb), "time": (a.time, b.time)}
    return {name for name, (x, y) in pairs.items() if x is not None and x == y}


def verb_words(e: Event) -> set[str]:
    return {w for v in e.action.verbs.split("|") for w in v.rstrip("*").split()} - STOPWORDS


def change_one_detail(rng: random.Random, e: Event) -> Event | None:
    """The same event with one detail (manner, adjective, clothing or time) changed or added."""
    options = []
    if adverbs := [a for a in e.action.adverbs if a != e.adverb]:
        options.append(("adverb", adverbs))
    if adjs := [a for a in adjectives_for(e.agent) if a != e.agent_adj]:
        options.append(("agent_adj", adjs))
    if e.obj and (adjs := [a for a in adjectives_for(e.obj) if a != e.obj_adj]):
        options.append(("obj_adj", adjs))
    if e.clothing:
        options.append(("clothing", [(c, e.clothing[1]) for c in CLOTHING_COLORS if c != e.clothing[0]]))
    if times := [t for t in times_for(e.tense) if t != e.time]:
        options.append(("time", times))
    if not options:
        return None
    field, values = rng.choice(options)
    return dataclasses.replace(e, **{field: rng.choice(values)})


def related_event(rng: random.Random, base: Event, score: int) -> Event | None:
    """An event standing in relation ``score`` to ``base`` (see the module docstring)."""
    if score == 5:
        return base
    if score == 4:
        return change_one_detail(rng, base)
    if score == 3:  # the agent (with its modifiers) and the action concept stay, the rest is drawn anew
        same_action = [a for a in ACTIONS if a.concept == base.action.concept and can_do(a, base.agent)]
        for _ in range(200):
            other = random_event(rng, same_action, agents=[base.agent], tense=base.tense)
            other = dataclasses.replace(other, count=base.count, agent_adj=base.agent_adj, clothing=base.clothing)
            moved = other.place != base.place and None not in (other.place, base.place)
            if other.obj != base.obj or moved:
                return other
        return None
    same_kind = PEOPLE if base.agent in PEOPLE else ANIMALS
    for _ in range(200):
        other = random_event(rng, tense=base.tense)
        if other is None or verb_words(other) & verb_words(base):
            continue  # a verb in common ("play" the guitar / "play" chess) would be a shared element
        fits_place = base.place in places_for(other.action, other.agent)
        if score == 2 and other.agent in same_kind and fits_place:
            other = dataclasses.replace(other, place=base.place)
            if shared(base, other) == {"domain", "place"}:
                return other
        if score == 1:
            if not shared(base, other) and fits_place:  # nothing in common yet: share the place
                other = dataclasses.replace(other, place=base.place)
            if shared(base, other) in ({"agent"}, {"place"}):
                return other
        if score == 0 and not shared(base, other):
            return other
    return None


def content(sentence: str) -> list[str]:
    return [w for w in sentence.lower().rstrip(".?").replace(",", "").split() if w not in ("a", "an", "the")]


def reword(rng: random.Random, e: Event, sentence: str, frame: str) -> str | None:
    """``sentence`` (``e`` voiced in ``frame``) said again: in another frame where there is one, and
    mostly (3 times in 4) with other synonyms; None if the content words came out unchanged."""
    avoid = frozenset(content(sentence)) if rng.random() < 0.75 else frozenset()
    realiser = Realiser(rng, avoid)
    frames = [f for f in realiser.frames(e) if f != frame] or [frame]
    second = realiser.statement(e, rng.choice(frames))[0]
    return None if content(second) == content(sentence) else second


def sts_pair(rng: random.Random, score: int, used: set[str]) -> tuple[str, str] | None:
    """One pair with gold ``score`` whose sentences are not in ``used``."""
    base = random_event(rng)
    other = related_event(rng, base, score) if base else None
    if other is None:
        return None
    first, frame = Realiser(rng).statement(base)
    second = reword(rng, other, first, frame) if score == 5 else Realiser(rng).statement(other)[0]
    if second is None or first == second or first in used or second in used:
        return None
    return (first, second) if rng.random() < 0.5 else (second, first)


def make_sts(rng: random.Random, size: int, used: set[str]) -> list[tuple[str, str, int]]:
    """``size`` scored pairs, the scores 0-5 in equal shares; adds their sentences to ``used``."""
    rows = []
    while len(rows) < size:
        score = len(rows) % 6
        pair = sts_pair(rng, score, used)
        if pair:
            used.update(pair)
            rows.append((*pair, score))
    rng.shuffle(rows)
    return rows


# --------------------------------------------------------------------------- training triplets

def triplet(rng: random.Random, held_out: set[str]) -> tuple[str, str, str] | None:
    """(sent0, sent1, hard_neg): an event, its rewording (score 5) and a score-3 event (score 2
    where there is none) in sent0's frame where it fits; see "Training triplets" above."""
    base = random_event(rng)
    negative = (related_event(rng, base, 3) or related_event(rng, base, 2)) if base else None
    if negative is None:
        return None
    anchor, frame = Realiser(rng).statement(base)
    positive = reword(rng, base, anchor, frame)
    realiser = Realiser(rng)
    hard = realiser.statement(negative, frame if frame in realiser.frames(negative) else None)[0]
    row = (anchor, positive, hard)
    if positive is None or hard == anchor or any(s in held_out for s in row):
        return None
    return row


def make_triplets(rng: random.Random, size: int, held_out: set[str]) -> list[tuple[str, str, str]]:
    """``size`` triplets with distinct sent0, none of whose sentences is in ``held_out``."""
    anchors: set[str] = set()
    rows = []
    while len(rows) < size:
        row = triplet(rng, held_out)
        if row and row[0] not in anchors:
            anchors.add(row[0])
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- encoder

def bert_tokenizer(vocab: list[str]) -> Tokenizer:
    """A lowercasing BERT WordPiece tokenizer, as transformers' BertTokenizer builds it."""
    ids = {token: i for i, token in enumerate(vocab)}
    tokenizer = Tokenizer(WordPiece(ids, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                      strip_accents=None, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])])
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    return tokenizer


def word_tokens(sentences: list[str]) -> set[str]:
    """Every lowercased word and punctuation token, split as BERT's pre-tokenizer does."""
    split = pre_tokenizers.BertPreTokenizer()
    return {token for s in sentences for token, _ in split.pre_tokenize_str(s.lower())}


def write_encoder(folder: Path, sentences: list[str]) -> int:
    """Write config, vocabulary and tokenizer files; return the vocabulary size."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = SPECIAL_TOKENS + sorted(word_tokens(sentences))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = bert_tokenizer(vocab)
    tokenizer.save(str(folder / "tokenizer.json"))
    longest = max(len(tokenizer.encode(s).ids) for s in sentences)
    if longest > MAX_TOKENS:
        raise ValueError(f"a sentence has {longest} tokens, more than {MAX_TOKENS}")
    tokenizer_config = {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "tokenize_chinese_chars": True,
        "strip_accents": None, "model_max_length": MAX_TOKENS, "unk_token": "[UNK]", "sep_token": "[SEP]",
        "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
    }
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(vocab),
        "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": MAX_TOKENS, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0,
    }
    for name, data in (("tokenizer_config.json", tokenizer_config), ("config.json", config)):
        (folder / name).write_text(json.dumps(data, indent=2) + "\n")
    return len(vocab)


# --------------------------------------------------------------------------- main

def write_sts(path: Path, rows: list[tuple[str, str, int]]) -> None:
    lines = ["sentence1\tsentence2\tscore"] + [f"{a}\t{b}\t{score}" for a, b, score in rows]
    path.write_text("\n".join(lines) + "\n")


def write_triplets(path: Path, rows: list[tuple[str, str, str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["sent0", "sent1", "hard_neg"])
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "simcse_mini" / "demo")
    parser.add_argument("--corpus-size", type=int, default=7000)
    parser.add_argument("--pairs", type=int, default=400, help="pairs in each of the dev and test files")
    parser.add_argument("--triplets", type=int, default=2500, help="rows of the supervised training file")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    used: set[str] = set()
    dev = make_sts(rng, args.pairs, used)
    test = make_sts(rng, args.pairs, used)
    corpus = make_corpus(rng, args.corpus_size, held_out=used)
    triplets = make_triplets(rng, args.triplets, held_out=used)
    triplet_sentences = [s for row in triplets for s in row]

    unseen = word_tokens(sorted(used)) - word_tokens(corpus)
    if unseen:
        raise ValueError(f"STS words missing from the corpus: {sorted(unseen)}")

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "corpus.txt").write_text("\n".join(corpus) + "\n")
    write_sts(args.out / "sts_dev.tsv", dev)
    write_sts(args.out / "sts_test.tsv", test)
    write_triplets(args.out / "train_triplets.csv", triplets)
    vocab_size = write_encoder(args.out / "encoder", corpus + sorted(used) + triplet_sentences)
    print(f"wrote {len(corpus)} corpus sentences, {len(dev)} + {len(test)} STS pairs, {len(triplets)} "
          f"training triplets, vocabulary of {vocab_size} to {args.out}")


if __name__ == "__main__":
    main()
