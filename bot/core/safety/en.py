"""English emergency lexicon: rules on folded text WITHOUT shorthand expansion ("a" stays "a")."""

from __future__ import annotations

import re
from typing import Final

from bot.core.safety.rules import Lexicon, Rule, rule, words

# --- English building blocks (folded, NOT shorthand-expanded: "a" stays "a") ---------------

_EN_VERB = (
    r"(?:hit|hits|hitting|beat|beats|beating|punch(?:es|ed|ing)?|kick(?:s|ed|ing)?"
    r"|slap(?:s|ped|ping)?|chok(?:e|es|ed|ing)|strangl(?:e|es|ed|ing)|hurt(?:s|ing)?"
    r"|attack(?:s|ed|ing)?|stab(?:s|bed|bing)?|burn(?:s|ed|t|ing)?|push(?:es|ed|ing)?"
    r"|shov(?:e|es|ed|ing)|drag(?:s|ged|ging)?|abus(?:e|es|ed|ing)|assault(?:s|ed|ing)?"
    r"|rap(?:e|es|ed|ing)|molest(?:s|ed|ing)?|grop(?:e|es|ed|ing)|tortur(?:e|es|ed|ing)"
    r"|threaten(?:s|ed|ing)?|smack(?:s|ed|ing)?|whip(?:s|ped|ping)?|starv(?:e|es|ed|ing))"
)
_EN_VICTIM = (
    r"(?:me|us|my|her|him|mom|mum|mother|sister|the kids?|the children|the baby|our|myself"
    r"|everyone|all of us|(?:his|their) (?:wife|girlfriend|partner|kids?|children|son|daughter"
    r"|baby|mother|mom)|a (?:woman|girl|child|kid|boy))"
)
_EN_PERSON = r"(?:me|us|her|him|you|my|our|everyone|all of us|the (?:kids|children|baby))"

_EN_RULES: Final[tuple[Rule, ...]] = (
    # "help" alone is the menu command; "help me find ..." is a question.
    rule(
        "help_call",
        "always",
        r"help me(?! (?:find|with|understand|to|know|learn|get info|choose|fill|report|write"
        r"|please with|out with|read|translate|use|change|delete|erase|look|search|locate)\b)",
        r"(?:please|pls|plz|someone|somebody|anyone|anybody|pleas|pleaz) help",
        r"help (?:please|pls|plz|now|quick|quickly|asap|us|her|him)",
        r"help help|save me|save us|sos|rescue me",
        r"call (?:the )?(?:police|cops|113|911|ambulance)(?! (?:number|is|what|for|when)\b)",
        r"in danger|fear for my life|scared for my life|(?:i m|im|i am|i feel) (?:not safe"
        r"|unsafe)|(?:don t|dont|do not) feel safe|not safe at home",
    ),
    rule(
        "plea",
        "plea",
        r"(?:i|we) (?:really |urgently )?need help|urgent|(?:i|we) can t take it",
        r"emergency(?! (?:number|numbers|phone|phones|hotline|hotlines|line|lines|contact"
        r"|contacts|service|services)\b)",
    ),
    rule(
        "violence_now",
        "always",
        r"(?:he|she|they|husband|boyfriend|father|dad|stepfather|stepdad|partner|someone"
        r"|somebody|man|guy|brother|uncle|wife|mother|mom|neighbou?rs?|next door)"
        r"(?: s| is| are| re| keeps?| kept"
        r"| still| always| just| now| tried| tries| trying| will| ll| wants to)+ (?:\w+ )?"
        r"(?:beating|hitting|hurting|attacking|choking|strangling|kicking|punching|stabbing"
        r"|threatening|following|chasing|raping|touching|coming (?:for|after|to get) me"
        r"|breaking|smashing|banging on)",
    ),
    rule(
        "violence_named",
        "personal",
        rf"{_EN_VERB} {_EN_VICTIM}",
        r"touch(?:es|ed|ing)? (?:me|my (?:daughter|son|child|kid|body|private|breast|chest)"
        r"|her (?:private|breast|body|chest)|him)",
        r"pull(?:s|ed|ing)? my hair|(?:throws?|threw|throwing) (?:\w+ ){0,2}at (?:me|us|her)",
        r"(?:i m|im|i am|i was|i ve been|i have been|i got|i get|been|being|was|were|get|gets"
        r"|getting|got) (?:\w+ ){0,2}(?:beaten|hit|raped|abused|assaulted|attacked|molested"
        r"|stabbed|strangled|choked|threatened|followed|stalked|hurt|kicked|punched|slapped"
        r"|tortured|burned|burnt|groped|forced|beat up)",
        # "abuse" as a bare noun is a topic ("report domestic abuse"), not a disclosure.
        r"abusive|abuser|violent|beat(?:ing)?s? me|beaten",
    ),
    rule(
        "threat",
        "always",
        r"(?:going to|gonna|will|ll|wants? to|threaten(?:s|ed|ing)? to|tried to|trying to"
        r"|try to|about to|said (?:he|she)(?: d| would| will)?|says (?:he|she)(?: ll| will)?)"
        rf" (?:\w+ )?(?:(?:kill|murder|hurt|beat|hit|rape|stab|shoot|strangle|choke|drown"
        rf"|sell) {_EN_PERSON}|burn (?:me|us|her|him|you|my|our|the house|the|it down)"
        r"|take (?:my|the) (?:kids|children|baby|son|daughter))",
        rf"kill {_EN_PERSON}",
    ),
    rule("threatened", "personal", r"threat(?:en)?(?:s|ed|ing)?|death threats?"),
    rule(
        "weapon",
        "always",
        r"knife|knives|gun|guns|machete|axe|weapon|pistol|rifle|acid attack|pour(?:ed)? petrol",
    ),
    rule(
        "confinement",
        "personal",
        r"lock(?:s|ed)? (?:me |us )?(?:in|up|inside)|tied? (?:me|us|her) up|tied me",
        r"(?:won t|wont|will not|doesn t|does not|don t|not) let (?:me|us) (?:leave|go|out"
        r"|see|call|eat)",
        r"trapped|imprisoned|held captive|against my will|can t leave|cannot leave|cant leave"
        r"|not allowed to (?:leave|go out)|took my (?:phone|passport|papers|id)",
    ),
    rule(
        "sexual_abuse",
        "personal",
        r"raped|raping|rapist|sexually (?:abused|assaulted|harassed)"
        # The word alone ("rape", "sexual assault") is a disclosure; "what is rape" is not.
        r"|^(?:i was |i got |i ve been |been |just )?(?:rape|raped|sexual assault|sexually"
        r" assaulted|molested|assaulted)(?: again| last night| today| yesterday| help)?$"
        r"|molest\w*|forc(?:e|es|ed|ing) (?:me |her )?(?:to have sex|into sex|sex"
        r"|to sleep with)",
    ),
    rule(
        "stalking",
        "personal",
        r"follow(?:s|ed|ing) me|stalk(?:s|ed|ing|er)?|watching my (?:house|home)"
        r"|outside my (?:house|door|home|room)",
    ),
    # "I'm afraid I don't understand" is politeness, not fear.
    rule(
        "fear",
        "always",
        r"(?:i m|im|i am|i feel|we are|we re|i was) (?:so |really |very |too |)(?:scared"
        r"|terrified|frightened|hiding|afraid(?= (?:of|to go|he|she|for|that he|that she|my)\b"
        r"|$))",
        r"(?:afraid|scared) (?:to go home|of (?:my|him|her))",
    ),
    rule(
        "self_harm",
        "always",
        r"kill(?:ing)? myself|suicid\w*|end (?:my|it) (?:life|all)|end it all"
        r"|take my (?:own )?life|(?:want|wanna|wish|going) (?:to )?die|wish i (?:was|were) dead"
        r"|better off dead|(?:don t|dont|do not) want to (?:live|be alive)|no reason to live"
        r"|(?:hurt|cut|cutting|harm|harming) myself|self harm|overdose",
        flags=("self_harm",),
    ),
    rule(
        "injury",
        "always",
        r"bleed\w*|blood|unconscious|passed out|pass out|faint(?:ed|ing)|knocked (?:me )?out"
        r"|(?:broken|broke my) (?:arm|leg|bone|nose|rib|ribs|jaw|wrist|finger|hand|tooth"
        r"|teeth)|can t breathe|cant breathe|cannot breathe|not breathing|stabbed|concussion"
        r"|ambulance|injur\w*|wounded|wounds?|fracture\w*|bruise\w*|burned me|burnt me",
        flags=("injury",),
    ),
    # Topics, not disclosures: "rape", "human trafficking", "forced marriage".
    rule(
        "abuse_named",
        "mention",
        r"rape|sexual (?:abuse|assault|harassment|violence)|incest|child abuse",
    ),
    rule(
        "trafficking_named",
        "mention",
        r"traffick\w*|kidnap\w*|abduct\w*|forced marriage",
        flags=("trafficking",),
    ),
    rule(
        "trafficking",
        "personal",
        r"trafficked|kidnapped|kidnaped|abducted|(?:tricked|lured|deceived) (?:me |her |us )?"
        r"(?:into|to (?:go|china|cross))|forced (?:me |her |us )?to marr\w*"
        r"|forced (?:me|her) (?:into )?marr\w*"
        r"|sold (?:me|her|us|my (?:daughter|sister|wife|child|son|girl)|to (?:a )?(?:man|men"
        r"|husband|brothel|china|chinese)|into|as (?:a )?(?:bride|wife))"
        r"|(?:was|were|been|being|got|get|am|m) sold"
        r"|(?:taken|took me|take me|sent me|sent her) (?:across the border|over the border"
        r"|to china|to the border)|(?:took|taken|keeps?|kept) my passport",
        flags=("trafficking",),
    ),
)


_EN_INFO = re.compile(
    r"\b(?:what is|what s|whats|what are|what does|what counts|meaning of|define|definition"
    r"|penalt\w*|fine for|fines|punish\w*|sentence for|law|laws|legal|illegal|crime"
    r"|statistics|campaign|survey|report on|signs of|types of|forms of|a form of"
    r"|examples? of|research|article|essay|homework|prevention|prevent|counts? as|is it"
    r"|is this|does it count"
    # "is slapping a child domestic violence", "are threats a crime".
    r"|^(?:is|are|does|do|can) (?:\w+ ){1,6}(?:domestic violence|abuse|violence|a crime"
    r"|illegal|against the law|allowed))\b"
)
# First-person involvement. Phrases that only ask ("I want to know") are removed first.

_EN_ASKING = re.compile(
    r"\b(?:(?:can|could|may) i ask|i (?:want|would like|d like|need|wish|wanted) to (?:know"
    r"|ask|learn|understand|find out)|i have a question|i m (?:a student|researching|asking"
    r"|wondering|curious)|i wonder|tell me|let me know|explain to me|help me understand)\b"
)
_EN_PERSONAL = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|im)\b")

_EN_CHILD = re.compile(
    r"\b(?:child|children|kid|kids|son|daughter|baby|babies|stepdaughter|stepson|stepfather"
    r"|stepdad|toddler|niece|nephew|little (?:girl|boy|sister|brother)|my (?:boy|girl)"
    r"|teenager|underage|schoolgirl|schoolboy|(?:[1-9]|1[0-7]) ?(?:years? old|yo"
    r"|yrs? old))\b"
)

# Stretched letters in chat ("helppp", "pleaseee"): English keeps its doubles ("kill").
_EN_STRETCH = re.compile(r"([a-z])\1{2,}")


# --- Situation (set only on an emergency) -------------------------------------------------

_EN_HURTING = (
    r"(?:beating|hitting|hurting|abusing|attacking|kicking|choking|raping|beats|hits|hurts"
    r"|abuses|beat|hit|hurt|raped|killing|kill|strangling|slapping|punching)"
)
_EN_BYSTANDER: Final = words(
    rf"(?:neighbou?rs?|next door|the (?:man|guy|woman) (?:upstairs|downstairs|next door))"
    rf" (?:\w+ ){{0,4}}?(?:{_EN_VERB}|{_EN_HURTING}|screaming|shouting|fighting)",
    rf"{_EN_HURTING} (?:his|their|a|the|that|her) (?:wife|girlfriend|partner|woman|girl|kids?"
    r"|child|children|son|daughter|baby|boy|mother|mom|husband)",
    r"(?:my |a |her |his |our )?(?:friend|sister|mother|mom|mum|brother|cousin|colleague"
    r"|coworker|classmate|aunt|niece|neighbou?r|daughter|son|student|girl|woman|child|kid)"
    r"(?: s)? (?:is|was|gets|got|has been|keeps getting|is being|was being|being)"
    r" (?:\w+ )?(?:beaten|hit|abused|raped|hurt|attacked|threatened|locked|sold|trafficked"
    r"|molested|assaulted)",
    rf"(?:i|we) (?:can |could |just )?(?:see|saw|hear|heard|witness(?:ed)?|watch(?:ed)?)"
    rf" (?:\w+ ){{0,5}}?(?:{_EN_VERB}|{_EN_HURTING}|screaming|fighting)",
    rf"(?:her|his|their) (?:husband|boyfriend|partner|father|dad|stepfather|stepdad|wife)"
    rf" (?:\w+ ){{0,2}}?(?:{_EN_VERB}|{_EN_HURTING})",
)
_EN_OWN_HARM: Final = words(
    rf"(?:{_EN_VERB}|{_EN_HURTING}|kill|touch(?:es|ed|ing)?) (?:me|us)",
    r"(?:i m|im|i am|i was|i ve been|i have been|i got|i get|we are|we were|i keep getting)"
    r" (?:\w+ ){0,2}?(?:beaten|hit|raped|abused|assaulted|attacked|molested|stabbed|strangled"
    r"|choked|threatened|hurt|kicked|punched|slapped|locked|trafficked|sold|scared|afraid)",
)
_EN_ABUSER: Final = words(
    r"i(?: (?:sometimes|often|always|just|still|keep|kept|have|ve|had|d|accidentally|again"
    r"|also|really|get angry and|got angry and|lost my temper and|lose my temper and"
    r"|was drunk and|get drunk and))* (?:hit|hits|beat|beats|hurt|hurts|slap(?:ped)?"
    r"|punch(?:ed)?|kick(?:ed)?|push(?:ed)?|shov(?:e|ed)|chok(?:e|ed)|abus(?:e|ed)"
    r"|threaten(?:ed)?|hitting|beating|hurting) (?:my|our|the) (?:wife|husband|partner"
    r"|girlfriend|boyfriend|kids?|children|child|son|daughter|baby|family|mother|mom|father"
    r"|dad)",
    r"(?:i m|im|i am) (?:abusive|violent|an abuser)|i (?:get|become) violent",
    r"(?:stop|quit) (?:myself )?(?:from )?(?:hitting|beating|hurting|abusing) (?:my|our|her"
    r"|him|them)",
)
_EN_SEXUAL_ASSAULT: Final = words(
    r"rap(?:e|ed|es|ing|ist)|sexually (?:assaulted|abused)|sexual assault|molest\w*",
    r"forc(?:e|es|ed|ing) (?:me |her )?(?:to have sex|into sex|sex|to sleep with)",
)
_EN_CHILD_MORE: Final = words(
    r"(?:i m|im|i am) (?:only |just )?(?:[1-9]|1[0-7])(?! (?:km|kilometers|minutes|hours|am"
    r"|pm)\b)",
    r"in (?:grade|year|class) \d+|\d+(?:th|st|nd|rd) grade|at school|my teacher",
    r"my (?:dad|father|mom|mum|mother|stepdad|stepfather|stepmother|stepmom|parents?)"
    r" (?:\w+ ){0,2}?(?:hits|beats|hurts|hit|beat|hurt|abuses|touches|is hitting|is beating)"
    r" me",
)


def _prepare(raw: str) -> str:
    return _EN_STRETCH.sub(r"\1", raw)


LEXICON: Final = Lexicon(
    name="en",
    prepare=_prepare,
    rules=_EN_RULES,
    info=_EN_INFO,
    asking=_EN_ASKING,
    personal=_EN_PERSONAL,
    child=re.compile(f"{_EN_CHILD.pattern}|{_EN_CHILD_MORE.pattern}"),
    bystander=_EN_BYSTANDER,
    own_harm=_EN_OWN_HARM,
    abuser=_EN_ABUSER,
    sexual_assault=_EN_SEXUAL_ASSAULT,
)
