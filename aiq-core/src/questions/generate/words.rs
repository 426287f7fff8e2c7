//! Our own word lists: names, nonsense terms for syllogisms, propositions for conditionals,
//! categories for odd-one-out and memory lists, synonym and antonym pairs, and the relations
//! analogies are built from.
//!
//! Rules the lists keep (unit tests hold them to it): no word is in two categories; within a
//! relation every cue has one partner; each synonym (antonym) pair has a meaning no other pair of
//! the same list shares.

/// First names for word problems, orderings and truth puzzles (distinct initials not required).
pub(super) const NAMES: &[&str] = &[
    "Ada", "Ben", "Cleo", "Dev", "Ella", "Finn", "Gita", "Hugo", "Iris", "Jonah", "Kira", "Leo",
    "Maya", "Nico", "Olga", "Pablo", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wes", "Yara",
    "Zane", "Amir", "Bea", "Carl", "Dana", "Emil",
];

/// Made-up plural nouns, so that syllogisms are judged by form, not by what one knows.
pub(super) const NONSENSE: &[&str] = &[
    "wugs", "daxes", "feps", "blickets", "toves", "zorbs", "glims", "krets", "plonks", "vints",
    "mells", "trobs", "quabs", "nerps", "sprons", "dulks", "fibbles", "yorps",
];

/// Propositions as (holds, does not hold).
pub(super) const PROPOSITIONS: &[(&str, &str)] = &[
    ("the alarm rings", "the alarm does not ring"),
    ("the lamp is on", "the lamp is not on"),
    ("the door is locked", "the door is not locked"),
    ("the dog barks", "the dog does not bark"),
    ("the shop is open", "the shop is not open"),
    ("the train is late", "the train is not late"),
    ("the garden is watered", "the garden is not watered"),
    ("the printer works", "the printer does not work"),
    ("the match is cancelled", "the match is not cancelled"),
    ("the kettle is boiling", "the kettle is not boiling"),
    ("the window is open", "the window is not open"),
    ("the bell rings", "the bell does not ring"),
    ("the road is icy", "the road is not icy"),
    ("the baby sleeps", "the baby does not sleep"),
];

/// A category of words, and the family of categories it is close to (same family = a harder
/// odd-one-out).
pub(super) struct Category {
    /// What the words are.
    pub(super) name: &'static str,
    /// Close categories share a family.
    pub(super) family: &'static str,
    /// The members, separated by ", " (one line per category keeps the table readable).
    words: &'static str,
}

impl Category {
    /// The members.
    pub(super) fn members(&self) -> Vec<&'static str> {
        self.words.split(", ").collect()
    }
}

/// Categories with disjoint members.
pub(super) const CATEGORIES: &[Category] = &[
    Category {
        name: "fruits",
        family: "plants",
        words: "apple, pear, banana, cherry, grape, mango, melon, lychee, apricot, papaya, fig, lemon",
    },
    Category {
        name: "vegetables",
        family: "plants",
        words: "carrot, onion, cabbage, potato, spinach, lettuce, celery, turnip, leek, radish, broccoli, parsnip",
    },
    Category {
        name: "flowers",
        family: "plants",
        words: "rose, tulip, daisy, lily, daffodil, orchid, poppy, sunflower, carnation, marigold, dahlia, snowdrop",
    },
    Category {
        name: "mammals",
        family: "animals",
        words: "horse, tiger, rabbit, whale, camel, otter, zebra, donkey, giraffe, squirrel, dolphin, hedgehog",
    },
    Category {
        name: "birds",
        family: "animals",
        words: "eagle, sparrow, penguin, parrot, pigeon, heron, robin, ostrich, falcon, swallow, seagull, peacock",
    },
    Category {
        name: "fish",
        family: "animals",
        words: "trout, cod, tuna, herring, carp, pike, sardine, mackerel, haddock, perch, halibut, plaice",
    },
    Category {
        name: "insects",
        family: "animals",
        words: "beetle, wasp, moth, ladybird, grasshopper, mosquito, termite, flea, butterfly, dragonfly, cockroach, firefly",
    },
    Category {
        name: "tools",
        family: "objects",
        words: "hammer, chisel, wrench, screwdriver, pliers, drill, trowel, axe, mallet, crowbar, sander, vice",
    },
    Category {
        name: "kitchen utensils",
        family: "objects",
        words: "spoon, fork, ladle, whisk, kettle, colander, spatula, grater, teapot, saucepan, sieve, tongs",
    },
    Category {
        name: "furniture",
        family: "objects",
        words: "chair, table, sofa, wardrobe, desk, stool, bench, cupboard, bookcase, dresser, armchair, cabinet",
    },
    Category {
        name: "string instruments",
        family: "music",
        words: "violin, cello, harp, guitar, banjo, mandolin, ukulele, lute, sitar, viola, zither, double bass",
    },
    Category {
        name: "wind instruments",
        family: "music",
        words: "flute, clarinet, trumpet, oboe, trombone, saxophone, tuba, bassoon, piccolo, bagpipes, cornet, harmonica",
    },
    Category {
        name: "percussion instruments",
        family: "music",
        words: "drum, cymbal, xylophone, tambourine, cowbell, gong, bongo, castanets, maracas, timpani, glockenspiel, marimba",
    },
    Category {
        name: "metals",
        family: "materials",
        words: "iron, copper, zinc, tin, nickel, aluminium, platinum, titanium, chromium, cobalt, tungsten, magnesium",
    },
    Category {
        name: "gemstones",
        family: "materials",
        words: "ruby, emerald, sapphire, diamond, opal, topaz, amethyst, garnet, agate, onyx, jasper, quartz",
    },
    Category {
        name: "fabrics",
        family: "materials",
        words: "cotton, wool, silk, linen, denim, velvet, tweed, satin, corduroy, flannel, lace, nylon",
    },
    Category {
        name: "land vehicles",
        family: "transport",
        words: "car, bus, lorry, bicycle, tram, van, tractor, scooter, motorcycle, taxi, jeep, coach",
    },
    Category {
        name: "boats",
        family: "transport",
        words: "canoe, yacht, ferry, kayak, raft, barge, dinghy, gondola, tugboat, catamaran, trawler, houseboat",
    },
    Category {
        name: "aircraft",
        family: "transport",
        words: "glider, helicopter, airliner, biplane, airship, autogyro, seaplane, balloon, drone, blimp, jumbo jet, microlight",
    },
    Category {
        name: "clothing",
        family: "wear",
        words: "shirt, coat, scarf, hoodie, glove, jacket, trousers, skirt, sweater, blouse, waistcoat, cardigan",
    },
    Category {
        name: "footwear",
        family: "wear",
        words: "boot, sandal, slipper, trainer, clog, moccasin, loafer, flip-flop, wellington, brogue, stiletto, espadrille",
    },
    Category {
        name: "body parts",
        family: "body",
        words: "elbow, knee, ankle, wrist, shoulder, thumb, forehead, chin, heel, hip, eyebrow, knuckle",
    },
    Category {
        name: "shapes",
        family: "geometry",
        words: "circle, square, hexagon, oval, rectangle, pentagon, octagon, rhombus, trapezium, ellipse, crescent, parallelogram",
    },
    Category {
        name: "weather",
        family: "nature",
        words: "rain, snow, hail, fog, sleet, drizzle, thunder, frost, mist, blizzard, gale, lightning",
    },
    Category {
        name: "landforms",
        family: "nature",
        words: "valley, canyon, plateau, glacier, peninsula, island, cliff, desert, volcano, delta, dune, marsh",
    },
    Category {
        name: "buildings",
        family: "places",
        words: "castle, cottage, tower, barn, temple, palace, cabin, mansion, bungalow, cathedral, lighthouse, skyscraper",
    },
    Category {
        name: "sports",
        family: "games",
        words: "tennis, football, golf, rugby, hockey, archery, badminton, volleyball, baseball, netball, polo, lacrosse",
    },
    Category {
        name: "board games",
        family: "games",
        words: "chess, draughts, backgammon, ludo, monopoly, scrabble, mahjong, go, othello, snakes and ladders, cluedo, halma",
    },
    Category {
        name: "colours",
        family: "colour",
        words: "red, blue, green, yellow, purple, brown, grey, pink, black, white, beige, maroon",
    },
];

/// Synonym pairs with a level (0 easy, 1 medium, 2 hard); every pair is its own meaning.
pub(super) const SYNONYMS: &[(&str, &str, u8)] = &[
    ("big", "large", 0),
    ("quick", "fast", 0),
    ("begin", "start", 0),
    ("shut", "close", 0),
    ("happy", "glad", 0),
    ("angry", "cross", 0),
    ("wealthy", "rich", 0),
    ("quiet", "silent", 0),
    ("tired", "sleepy", 0),
    ("easy", "simple", 0),
    ("choose", "pick", 0),
    ("gift", "present", 0),
    ("shout", "yell", 0),
    ("damp", "moist", 0),
    ("odd", "strange", 0),
    ("unhappy", "sad", 0),
    ("smell", "odour", 0),
    ("help", "assist", 0),
    ("finish", "end", 0),
    ("under", "beneath", 0),
    ("brave", "courageous", 1),
    ("vacant", "empty", 1),
    ("ancient", "old", 1),
    ("purchase", "buy", 1),
    ("reply", "respond", 1),
    ("sturdy", "robust", 1),
    ("frighten", "scare", 1),
    ("accurate", "precise", 1),
    ("conceal", "hide", 1),
    ("weary", "exhausted", 1),
    ("error", "mistake", 1),
    ("famous", "renowned", 1),
    ("rapid", "swift", 1),
    ("vanish", "disappear", 1),
    ("assemble", "gather", 1),
    ("generous", "charitable", 1),
    ("annually", "yearly", 1),
    ("comprehend", "understand", 1),
    ("fragile", "delicate", 1),
    ("peril", "danger", 1),
    ("candid", "frank", 2),
    ("ubiquitous", "omnipresent", 2),
    ("laconic", "terse", 2),
    ("obstinate", "stubborn", 2),
    ("obsolete", "outdated", 2),
    ("ephemeral", "fleeting", 2),
    ("meticulous", "painstaking", 2),
    ("lucid", "clear", 2),
    ("garrulous", "talkative", 2),
    ("placate", "appease", 2),
    ("arid", "parched", 2),
    ("frugal", "thrifty", 2),
    ("pensive", "thoughtful", 2),
    ("audacious", "daring", 2),
    ("cordial", "friendly", 2),
    ("enigmatic", "mysterious", 2),
    ("impede", "hinder", 2),
    ("lethargic", "sluggish", 2),
    ("ostentatious", "showy", 2),
    ("erroneous", "incorrect", 2),
];

/// Antonym pairs with a level; every pair is its own opposition.
pub(super) const ANTONYMS: &[(&str, &str, u8)] = &[
    ("hot", "cold", 0),
    ("up", "down", 0),
    ("wet", "dry", 0),
    ("early", "late", 0),
    ("heavy", "light", 0),
    ("full", "empty", 0),
    ("win", "lose", 0),
    ("thick", "thin", 0),
    ("push", "pull", 0),
    ("loud", "soft", 0),
    ("sharp", "blunt", 0),
    ("arrive", "depart", 0),
    ("buy", "sell", 0),
    ("young", "old", 0),
    ("awake", "asleep", 0),
    ("inside", "outside", 0),
    ("expand", "contract", 1),
    ("victory", "defeat", 1),
    ("generous", "mean", 1),
    ("rare", "common", 1),
    ("ancient", "modern", 1),
    ("accept", "refuse", 1),
    ("shallow", "deep", 1),
    ("rough", "smooth", 1),
    ("maximum", "minimum", 1),
    ("import", "export", 1),
    ("temporary", "permanent", 1),
    ("guilty", "innocent", 1),
    ("praise", "criticise", 1),
    ("visible", "invisible", 1),
    ("increase", "decrease", 1),
    ("reward", "punishment", 1),
    ("abundant", "scarce", 2),
    ("candid", "evasive", 2),
    ("obscure", "famous", 2),
    ("verbose", "concise", 2),
    ("benign", "malignant", 2),
    ("transparent", "opaque", 2),
    ("zenith", "nadir", 2),
    ("humble", "arrogant", 2),
    ("diligent", "lazy", 2),
    ("optimist", "pessimist", 2),
    ("ascend", "descend", 2),
    ("novice", "expert", 2),
    ("tranquil", "turbulent", 2),
    ("affluent", "impoverished", 2),
    ("augment", "diminish", 2),
    ("conceal", "reveal", 2),
    ("ally", "adversary", 2),
];

/// A relation for analogies: pairs (cue, partner), a phrase for the explanation, its level.
pub(super) struct Relation {
    /// The relation's name in metadata.
    pub(super) name: &'static str,
    /// How the pair relates, with `{a}` (`{as}` for its plural) and `{b}` for the words.
    pub(super) phrase: &'static str,
    /// 0 easy, 1 medium, 2 hard.
    pub(super) level: u8,
    /// The pairs; cues are distinct.
    pub(super) pairs: &'static [(&'static str, &'static str)],
}

/// The analogy relations.
pub(super) const RELATIONS: &[Relation] = &[
    Relation {
        name: "young",
        phrase: "a young {a} is a {b}",
        level: 0,
        pairs: &[
            ("dog", "puppy"),
            ("cat", "kitten"),
            ("cow", "calf"),
            ("sheep", "lamb"),
            ("horse", "foal"),
            ("frog", "tadpole"),
            ("bear", "cub"),
            ("goat", "kid"),
            ("duck", "duckling"),
            ("deer", "fawn"),
            ("swan", "cygnet"),
            ("kangaroo", "joey"),
        ],
    },
    Relation {
        name: "sound",
        phrase: "a {a} makes the sound called a {b}",
        level: 0,
        pairs: &[
            ("dog", "bark"),
            ("cat", "purr"),
            ("cow", "moo"),
            ("lion", "roar"),
            ("horse", "neigh"),
            ("snake", "hiss"),
            ("owl", "hoot"),
            ("duck", "quack"),
            ("sheep", "bleat"),
            ("pig", "grunt"),
            ("bee", "buzz"),
            ("frog", "croak"),
        ],
    },
    Relation {
        name: "opposite",
        phrase: "{b} is the opposite of {a}",
        level: 0,
        pairs: &[
            ("hot", "cold"),
            ("up", "down"),
            ("wet", "dry"),
            ("early", "late"),
            ("full", "empty"),
            ("win", "lose"),
            ("thick", "thin"),
            ("push", "pull"),
            ("awake", "asleep"),
            ("inside", "outside"),
            ("buy", "sell"),
            ("arrive", "depart"),
        ],
    },
    Relation {
        name: "tool",
        phrase: "a {a} works with a {b}",
        level: 1,
        pairs: &[
            ("painter", "brush"),
            ("carpenter", "saw"),
            ("writer", "pen"),
            ("surgeon", "scalpel"),
            ("farmer", "plough"),
            ("photographer", "camera"),
            ("tailor", "needle"),
            ("fisherman", "net"),
            ("gardener", "spade"),
            ("astronomer", "telescope"),
            ("sculptor", "chisel"),
            ("butcher", "cleaver"),
        ],
    },
    Relation {
        name: "home",
        phrase: "a {a} lives in a {b}",
        level: 1,
        pairs: &[
            ("bee", "hive"),
            ("bird", "nest"),
            ("rabbit", "burrow"),
            ("horse", "stable"),
            ("dog", "kennel"),
            ("spider", "web"),
            ("pig", "sty"),
            ("lion", "den"),
            ("beaver", "lodge"),
            ("eagle", "eyrie"),
            ("hermit crab", "shell"),
            ("monk", "monastery"),
        ],
    },
    Relation {
        name: "part",
        phrase: "a {a} is part of a {b}",
        level: 1,
        pairs: &[
            ("page", "book"),
            ("petal", "flower"),
            ("wheel", "car"),
            ("key", "keyboard"),
            ("branch", "tree"),
            ("finger", "hand"),
            ("brick", "wall"),
            ("lens", "camera"),
            ("string", "guitar"),
            ("rung", "ladder"),
            ("spoke", "wheel"),
            ("chapter", "novel"),
        ],
    },
    Relation {
        name: "degree",
        phrase: "{b} is a stronger form of {a}",
        level: 1,
        pairs: &[
            ("warm", "hot"),
            ("cool", "freezing"),
            ("damp", "soaked"),
            ("breeze", "gale"),
            ("whisper", "shout"),
            ("walk", "sprint"),
            ("hill", "mountain"),
            ("drizzle", "downpour"),
            ("like", "adore"),
            ("tired", "exhausted"),
            ("pleased", "ecstatic"),
            ("annoyed", "furious"),
        ],
    },
    Relation {
        name: "group",
        phrase: "a group of {as} is a {b}",
        level: 2,
        pairs: &[
            ("wolf", "pack"),
            ("bee", "swarm"),
            ("cow", "herd"),
            ("bird", "flock"),
            ("lion", "pride"),
            ("ship", "fleet"),
            ("tree", "forest"),
            ("soldier", "army"),
            ("star", "galaxy"),
            ("island", "archipelago"),
            ("whale", "pod"),
            ("crow", "murder"),
        ],
    },
    Relation {
        name: "synonym",
        phrase: "{b} means the same as {a}",
        level: 2,
        pairs: &[
            ("candid", "frank"),
            ("laconic", "terse"),
            ("obstinate", "stubborn"),
            ("ephemeral", "fleeting"),
            ("frugal", "thrifty"),
            ("garrulous", "talkative"),
            ("placate", "appease"),
            ("lucid", "clear"),
            ("impede", "hinder"),
            ("lethargic", "sluggish"),
            ("cordial", "friendly"),
            ("audacious", "daring"),
        ],
    },
    Relation {
        name: "measure",
        phrase: "{a} is measured with a {b}",
        level: 2,
        pairs: &[
            ("temperature", "thermometer"),
            ("pressure", "barometer"),
            ("time", "clock"),
            ("weight", "scale"),
            ("speed", "speedometer"),
            ("angle", "protractor"),
            ("length", "ruler"),
            ("earthquake", "seismograph"),
            ("current", "ammeter"),
            ("distance", "odometer"),
            ("humidity", "hygrometer"),
            ("wind speed", "anemometer"),
        ],
    },
];

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn categories_are_disjoint() {
        let mut seen = HashMap::new();
        for c in CATEGORIES {
            assert!(c.members().len() >= 10, "{}", c.name);
            for w in c.members() {
                assert_eq!(seen.insert(w, c.name), None, "{w} is in two categories");
            }
        }
    }

    #[test]
    fn relations_have_one_partner_per_cue() {
        for r in RELATIONS {
            let cues: HashSet<_> = r.pairs.iter().map(|p| p.0).collect();
            let partners: HashSet<_> = r.pairs.iter().map(|p| p.1).collect();
            assert_eq!(cues.len(), r.pairs.len(), "{}", r.name);
            assert_eq!(partners.len(), r.pairs.len(), "{}", r.name);
        }
    }

    #[test]
    fn word_pairs_do_not_repeat_words() {
        for list in [SYNONYMS, ANTONYMS] {
            let mut seen = HashSet::new();
            for (a, b, _) in list {
                assert!(seen.insert(*a) && seen.insert(*b), "{a}/{b} repeats a word");
            }
        }
    }
}
