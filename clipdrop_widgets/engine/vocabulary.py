"""Nouns the local engine can draw, and the OpenMoji emoji each is drawn with.

Each entry maps a singular noun (and its synonyms) to one emoji; `PLACES` says where
in the picture a kind of subject belongs. Plurals are handled by
`singular`; irregular ones are in `IRREGULAR`.
The emoji are rendered from a subset of the OpenMoji font shipped in ``engine/assets``
(OpenMoji, CC BY-SA 4.0, see ``engine/assets/README.md``).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Place", "NOUNS", "PLACES", "IRREGULAR", "SHAPES"]

#: Where a subject stands: on the ground, in the sky, in the water, or in the middle of the
#: picture (food and small objects, drawn as a still life).
Place = Literal["ground", "sky", "water", "centre"]

_ANIMALS = {
    "fox": "🦊", "dog": "🐕", "puppy": "🐕", "hound": "🐕", "poodle": "🐩", "cat": "🐈",
    "kitten": "🐈", "kitty": "🐈", "lion": "🦁", "tiger": "🐅", "leopard": "🐆",
    "cheetah": "🐆", "jaguar": "🐆", "horse": "🐎", "pony": "🐎", "stallion": "🐎",
    "unicorn": "🦄", "zebra": "🦓", "deer": "🦌", "stag": "🦌", "reindeer": "🦌",
    "moose": "🫎", "elk": "🫎", "cow": "🐄", "bull": "🐂", "ox": "🐂", "buffalo": "🐃",
    "bison": "🦬", "pig": "🐖", "boar": "🐗", "sheep": "🐑", "lamb": "🐑", "ram": "🐏",
    "goat": "🐐", "camel": "🐫", "llama": "🦙", "alpaca": "🦙", "giraffe": "🦒",
    "elephant": "🐘", "mammoth": "🦣", "rhino": "🦏", "rhinoceros": "🦏",
    "hippo": "🦛", "hippopotamus": "🦛", "mouse": "🐁", "rat": "🐀", "hamster": "🐹",
    "rabbit": "🐇", "bunny": "🐇", "hare": "🐇", "chipmunk": "🐿", "squirrel": "🐿",
    "beaver": "🦫", "hedgehog": "🦔", "bat": "🦇", "bear": "🐻", "polar bear": "🐻‍❄",
    "koala": "🐨", "panda": "🐼", "sloth": "🦥", "otter": "🦦", "skunk": "🦨",
    "kangaroo": "🦘", "badger": "🦡", "wolf": "🐺", "monkey": "🐒", "ape": "🦍",
    "gorilla": "🦍", "orangutan": "🦧", "raccoon": "🦝", "donkey": "🫏", "mule": "🫏",
    "turkey": "🦃", "chicken": "🐔", "hen": "🐔", "rooster": "🐓", "chick": "🐤",
    "duck": "🦆", "goose": "🪿", "swan": "🦢", "owl": "🦉", "dodo": "🦤",
    "flamingo": "🦩", "peacock": "🦚", "parrot": "🦜", "penguin": "🐧",
    "frog": "🐸", "toad": "🐸", "crocodile": "🐊", "alligator": "🐊", "turtle": "🐢",
    "tortoise": "🐢", "lizard": "🦎", "gecko": "🦎", "snake": "🐍", "serpent": "🐍",
    "dragon": "🐉", "dinosaur": "🦕", "brontosaurus": "🦕", "trex": "🦖",
    "snail": "🐌", "ant": "🐜", "beetle": "🪲", "ladybug": "🐞", "ladybird": "🐞",
    "cricket": "🦗", "cockroach": "🪳", "spider": "🕷", "scorpion": "🦂", "worm": "🪱",
    "caterpillar": "🐛",
}
_FLYING = {
    "bird": "🐦", "sparrow": "🐦", "robin": "🐦", "eagle": "🦅", "hawk": "🦅",
    "falcon": "🦅", "dove": "🕊", "pigeon": "🕊", "crow": "🐦‍⬛", "raven": "🐦‍⬛",
    "butterfly": "🦋", "moth": "🦋", "bee": "🐝", "wasp": "🐝", "mosquito": "🦟",
    "airplane": "✈", "aeroplane": "✈", "plane": "✈", "jet": "✈",
    "helicopter": "🚁", "rocket": "🚀", "spaceship": "🚀", "ufo": "🛸", "saucer": "🛸",
    "balloon": "🎈", "kite": "🪁", "parachute": "🪂", "satellite": "🛰",
    "comet": "☄", "rainbow": "🌈", "angel": "👼", "fairy": "🧚",
    "ghost": "👻", "phoenix": "🐦‍🔥",
}
_WATER = {
    "fish": "🐟", "goldfish": "🐠", "salmon": "🐟", "trout": "🐟", "shark": "🦈",
    "whale": "🐋", "dolphin": "🐬", "seal": "🦭", "octopus": "🐙", "squid": "🦑",
    "jellyfish": "🪼", "crab": "🦀", "lobster": "🦞", "shrimp": "🦐", "coral": "🪸",
    "boat": "⛵", "sailboat": "⛵", "yacht": "⛵", "ship": "🚢", "steamship": "🚢",
    "ferry": "⛴", "canoe": "🛶", "kayak": "🛶", "speedboat": "🚤", "submarine": "🚢",
    "swimmer": "🏊", "surfer": "🏄", "mermaid": "🧜‍♀",
}
_PEOPLE = {
    "person": "🧍", "people": "🧍", "man": "🧍‍♂", "woman": "🧍‍♀", "boy": "👦",
    "girl": "👧", "child": "🧒", "kid": "🧒", "baby": "👶", "family": "👪",
    "couple": "👫", "farmer": "🧑‍🌾", "cook": "🧑‍🍳", "chef": "🧑‍🍳",
    "astronaut": "🧑‍🚀", "doctor": "🧑‍⚕", "nurse": "🧑‍⚕", "teacher": "🧑‍🏫",
    "scientist": "🧑‍🔬", "artist": "🧑‍🎨", "painter": "🧑‍🎨", "pilot": "🧑‍✈",
    "firefighter": "🧑‍🚒", "police": "👮", "policeman": "👮", "soldier": "💂",
    "guard": "💂", "king": "🤴", "prince": "🤴", "queen": "👸", "princess": "👸",
    "wizard": "🧙", "witch": "🧙‍♀", "mage": "🧙", "elf": "🧝", "vampire": "🧛",
    "zombie": "🧟", "genie": "🧞", "superhero": "🦸", "ninja": "🥷",
    "robot": "🤖", "alien": "👽", "monster": "👾", "clown": "🤡", "snowman": "⛄",
    "runner": "🏃", "dancer": "💃", "skier": "⛷", "cyclist": "🚴",
    "climber": "🧗", "golfer": "🏌", "detective": "🕵", "santa": "🎅",
    "student": "🧑‍🎓", "singer": "🧑‍🎤", "musician": "🧑‍🎤", "worker": "👷",
    "builder": "👷", "mechanic": "🧑‍🔧", "judge": "🧑‍⚖", "grandmother": "👵",
    "grandfather": "👴",
}
_BUILDINGS = {
    "house": "🏠", "home": "🏡", "cottage": "🏡", "cabin": "🛖", "hut": "🛖",
    "castle": "🏰", "palace": "🏯", "fortress": "🏰", "church": "⛪",
    "cathedral": "⛪", "chapel": "⛪", "mosque": "🕌", "temple": "🛕",
    "synagogue": "🕍", "shrine": "⛩", "pagoda": "🏯", "tower": "🗼",
    "skyscraper": "🏢", "office": "🏢", "hospital": "🏥", "school": "🏫",
    "bank": "🏦", "hotel": "🏨", "factory": "🏭", "stadium": "🏟", "tent": "⛺",
    "barn": "🏚", "ruin": "🏚", "fountain": "⛲", "bridge": "🌉", "windmill": "🌬",
    "statue": "🗽", "monument": "🗿", "lighthouse": "lighthouse", "igloo": "🛖",
    "shop": "🏪", "store": "🏪", "museum": "🏛", "library": "🏛", "courthouse": "🏛",
    "station": "🚉", "carousel": "🎠", "ferris wheel": "🎡", "rollercoaster": "🎢",
    "volcano": "🌋", "campfire": "🔥", "fire": "🔥", "bonfire": "🔥",
}
_VEHICLES = {
    "car": "🚗", "automobile": "🚗", "taxi": "🚕", "cab": "🚕", "bus": "🚌",
    "van": "🚐", "truck": "🚚", "lorry": "🚚", "tractor": "🚜", "ambulance": "🚑",
    "firetruck": "🚒", "police car": "🚓", "racecar": "🏎", "motorcycle": "🏍",
    "motorbike": "🏍", "scooter": "🛵", "bicycle": "🚲", "bike": "🚲",
    "train": "🚆", "locomotive": "🚂", "tram": "🚊", "skateboard": "🛹",
    "wagon": "🛻", "pickup": "🛻", "sled": "🛷", "sleigh": "🛷",
}
_PLANTS = {
    "tree": "🌳", "oak": "🌳", "maple": "🍁", "pine": "🌲", "fir": "🌲",
    "palm": "🌴", "cactus": "🌵", "flower": "🌼", "daisy": "🌼", "rose": "🌹",
    "tulip": "🌷", "sunflower": "🌻", "blossom": "🌸", "lotus": "🪷",
    "hibiscus": "🌺", "mushroom": "🍄", "toadstool": "🍄", "herb": "🌿",
    "fern": "🌿", "clover": "🍀", "leaf": "🍂", "seedling": "🌱", "sprout": "🌱",
    "bamboo": "🎍", "bush": "🌳", "plant": "🪴", "wheat": "🌾", "hyacinth": "🪻",
}
_FOOD = {
    "apple": "🍎", "pear": "🍐", "orange": "🍊", "tangerine": "🍊", "lemon": "🍋",
    "lime": "🍋‍🟩", "banana": "🍌", "watermelon": "🍉", "melon": "🍈", "grape": "🍇",
    "strawberry": "🍓", "blueberry": "🫐", "cherry": "🍒", "peach": "🍑",
    "mango": "🥭", "pineapple": "🍍", "coconut": "🥥", "kiwi": "🥝", "tomato": "🍅",
    "avocado": "🥑", "eggplant": "🍆", "aubergine": "🍆", "potato": "🥔",
    "carrot": "🥕", "corn": "🌽", "pepper": "🌶", "chili": "🌶", "cucumber": "🥒",
    "broccoli": "🥦", "garlic": "🧄", "onion": "🧅", "peanut": "🥜", "chestnut": "🌰",
    "bread": "🍞", "loaf": "🍞", "croissant": "🥐", "baguette": "🥖", "pretzel": "🥨",
    "bagel": "🥯", "pancake": "🥞", "waffle": "🧇", "cheese": "🧀", "meat": "🍖",
    "bacon": "🥓", "burger": "🍔", "hamburger": "🍔", "fries": "🍟", "pizza": "🍕",
    "hotdog": "🌭", "sandwich": "🥪", "taco": "🌮", "burrito": "🌯", "egg": "🥚",
    "salad": "🥗", "popcorn": "🍿", "soup": "🍲", "stew": "🍲", "sushi": "🍣",
    "rice": "🍚", "noodle": "🍜", "ramen": "🍜", "spaghetti": "🍝", "pasta": "🍝",
    "dumpling": "🥟", "cookie": "🍪", "cake": "🍰", "cupcake": "🧁", "pie": "🥧",
    "chocolate": "🍫", "candy": "🍬", "lollipop": "🍭", "doughnut": "🍩",
    "donut": "🍩", "icecream": "🍦", "ice cream": "🍦", "honey": "🍯", "milk": "🥛", "coffee": "☕",
    "tea": "🍵", "teapot": "🫖", "wine": "🍷", "beer": "🍺", "cocktail": "🍸",
    "juice": "🧃", "bottle": "🍾",
}
_OBJECTS = {
    "umbrella": "☂", "hat": "🎩", "crown": "👑", "shoe": "👟", "boot": "👢",
    "bag": "👜", "backpack": "🎒", "glasses": "👓", "ring": "💍", "gem": "💎",
    "diamond": "💎", "book": "📕", "letter": "✉", "pencil": "✏", "pen": "🖊",
    "paintbrush": "🖌", "scissors": "✂", "key": "🔑", "lock": "🔒", "hammer": "🔨",
    "axe": "🪓", "sword": "🗡", "shield": "🛡", "bow": "🏹", "clock": "🕰",
    "hourglass": "⌛", "lamp": "🪔", "lantern": "🏮", "candle": "🕯",
    "bulb": "💡", "phone": "📱", "telephone": "☎", "computer": "💻", "laptop": "💻",
    "camera": "📷", "television": "📺", "tv": "📺", "radio": "📻", "guitar": "🎸",
    "violin": "🎻", "piano": "🎹", "trumpet": "🎺", "drum": "🥁", "saxophone": "🎷",
    "ball": "⚽", "football": "🏈", "soccer": "⚽", "basketball": "🏀",
    "baseball": "⚾", "tennis": "🎾", "trophy": "🏆", "medal": "🏅", "gift": "🎁",
    "chair": "🪑", "bed": "🛏", "sofa": "🛋", "couch": "🛋",
    "door": "🚪", "window": "🪟", "mirror": "🪞", "vase": "🏺", "bucket": "🪣",
    "basket": "🧺", "anchor": "⚓", "compass": "🧭", "map": "🗺", "globe": "🌍",
    "telescope": "🔭", "microscope": "🔬", "magnet": "🧲", "bell": "🔔",
    "teddy": "🧸", "doll": "🪆", "puzzle": "🧩", "dice": "🎲", "skull": "💀",
    "snowflake": "❄",
    "feather": "🪶", "shell": "🐚", "rock": "🪨", "stone": "🪨", "log": "🪵",
    "mailbox": "📫", "flag": "🏳", "bench": "🪑", "cup": "☕", "mug": "☕",
    "kettle": "🫖", "pot": "🍲", "knife": "🔪", "spoon": "🥄", "fork": "🍴",
    "plate": "🍽", "candlestick": "🕯", "pumpkin": "🎃",
    "jackolantern": "🎃", "christmas tree": "🎄", "wreath": "🎄", "firework": "🎆",
    "treasure": "💰", "coin": "🪙", "money": "💰", "magic wand": "🪄", "wand": "🪄",
    "potion": "🧪", "crystal ball": "🔮", "broom": "🧹", "mask": "🎭",
}

#: Noun (lower case, singular; a few are two words) -> its emoji, or the name of a
#: shape the engine draws itself (`SHAPES`).
NOUNS: dict[str, str] = {**_ANIMALS, **_FLYING, **_WATER, **_PEOPLE, **_BUILDINGS,
                         **_VEHICLES, **_PLANTS, **_FOOD, **_OBJECTS}

#: Nouns drawn from the engine's own shapes rather than an emoji.
SHAPES = frozenset({"lighthouse"})

#: Where each noun belongs.
PLACES: dict[str, Place] = {
    **{k: "ground" for k in (*_ANIMALS, *_PEOPLE, *_BUILDINGS, *_VEHICLES, *_PLANTS)},
    **{k: "sky" for k in _FLYING},
    **{k: "water" for k in _WATER},
    **{k: "centre" for k in (*_FOOD, *_OBJECTS)},
}
PLACES.update({"swimmer": "water", "surfer": "water", "mermaid": "water", "seal": "ground",
               "crab": "ground", "coral": "water", "angel": "sky", "ghost": "sky",
               "fairy": "sky", "comet": "sky",
               "snowflake": "sky", "firework": "sky", "balloon": "sky"})

#: Plurals that adding or dropping an "s" does not explain.
IRREGULAR: dict[str, str] = {
    "mice": "mouse", "geese": "goose", "men": "man", "women": "woman",
    "children": "child", "wolves": "wolf", "leaves": "leaf", "knives": "knife",
    "oxen": "ox", "teeth": "tooth", "feet": "foot", "calves": "calf", "elves": "elf",
    "loaves": "loaf", "shelves": "shelf", "cacti": "cactus", "octopi": "octopus",
    "fungi": "mushroom", "dice": "dice", "people": "person", "persons": "person",
    "puppies": "puppy", "ponies": "pony", "bunnies": "bunny", "kitties": "kitty",
    "butterflies": "butterfly", "cherries": "cherry", "strawberries": "strawberry",
    "blueberries": "blueberry", "ladies": "woman", "fairies": "fairy", "flies": "fly",
    "policemen": "policeman", "firemen": "firefighter", "fishermen": "man",
    "sheep": "sheep", "deer": "deer", "fish": "fish", "moose": "moose",
    "bison": "bison", "salmon": "salmon", "trout": "trout", "squid": "squid",
    "shrimp": "shrimp", "buffaloes": "buffalo", "potatoes": "potato",
    "tomatoes": "tomato", "mangoes": "mango", "volcanoes": "volcano",
    "heroes": "superhero", "skies": "sky", "glasses": "glasses", "scissors": "scissors",
    "fries": "fries", "noodles": "noodle", "spaghetti": "spaghetti",
}
