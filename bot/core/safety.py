"""Emergency (danger) detector: the first check on every citizen message (DESIGN §3.5).

Recall first: over-triggering costs one FAQ answer, missing costs far more. The check runs
word-sequence patterns over `bot.text.normalize`d text (no diacritics, shorthand expanded),
so "Chồng đang đánh em", "chong dang danh em" and "ck đg đánh e" meet the same rules.
English is matched on the same text without shorthand expansion (there "a" must stay "a").

Rules come in four strengths:

* ``always`` — danger in itself (a call for help, violence happening now, a threat to kill,
  a weapon, self-harm, an injury, fear): triggers in any message.
* ``personal`` — violence, abuse, confinement, sexual abuse, trafficking named in the
  message: triggers unless the message is a general question (definition, law, penalty,
  campaign, "is it violence?") in which the writer is not involved (no I/me/em/tôi/mình).
  So "mức phạt đánh vợ là bao nhiêu" gets the FAQ answer, while "chồng đánh em thì bị phạt
  bao nhiêu" (the writer is the victim) and plain "vợ bị chồng đánh suốt" trigger.
* ``mention`` — abuse only named as a topic ("mua bán người", "sàm sỡ", "xâm hại trẻ em",
  "nếu bị bạo lực thì làm gì", "forced marriage"): triggers only when the writer is
  involved. A sentence with an abuser, a victim, or someone "bị" (suffering) it is
  ``personal`` instead: "trẻ em bị xâm hại" triggers.
* ``plea`` — a vague plea ("giúp em với", "khẩn cấp", "i need help"): triggers unless the
  message is a general question.

Deliberate over-triggering (recall first) is noted next to each rule. Negation is not
handled: "chồng không đánh em" triggers. Descriptions of abuse framed as a question
("bị bạo lực gia đình nên làm gì", "hàng xóm bị bạo lực thì giúp thế nào") trigger too:
the writer may well be the victim, and the emergency reply offers the hotlines and the
nearest trusted address.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from bot.text import normalize

__all__ = ["Assessment", "assess"]

Strength = Literal["always", "personal", "mention", "plea"]
Flag = Literal["child", "injury", "self_harm", "trafficking"]


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the emergency check found in one message."""

    emergency: bool  # reply must lead with 113
    child: bool = False  # a child is involved -> also 111
    injury: bool = False  # injury / bleeding / unconscious -> also 115
    self_harm: bool = False  # suicidal thoughts -> safety line for self-harm
    trafficking: bool = False  # sold / taken across the border / forced marriage abroad
    reasons: tuple[str, ...] = ()  # names of the matched rule groups, never the user's text


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    strength: Strength
    pattern: re.Pattern[str]
    flags: frozenset[Flag]


def _rule(
    name: str, strength: Strength, *alternatives: str, flags: tuple[Flag, ...] = ()
) -> _Rule:
    body = "|".join(f"(?:{alt})" for alt in alternatives)
    return _Rule(name, strength, re.compile(rf"\b(?:{body})\b"), frozenset(flags))


# --- Vietnamese building blocks (folded, shorthand expanded: ck→chong, e→em, t→toi, ...) ----

_ME = r"(?:toi|em|minh|tui|tao|chau|con|me con|chung toi|chung em|bon em)"
# "đánh" folds to "danh", which also starts many unrelated words: danh sách (list), danh bạ
# (contacts), đánh giá (evaluate), dành cho (for), danh dự (honour), đánh bài (cards),
# dành dụm (save money)... Those compounds are excluded; "dành cho" only when it is not
# "đánh cho (một trận|chết)". "uýnh" is chat slang for "đánh".
_DANH = (
    r"(?:danh|dahn|dnah|uynh)(?! (?:sach|gia|muc|hieu|tinh|thiep|nghia|rang|bai|co|thuc|may"
    r"|so|tieng|nhan|vong|lua|bac|golf|chu|du|phan|xung|thang|lam|thue|van|bong|dan|hoi|giac"
    r"|diem|ngon|dum|rieng|doi|lieu|thoi|cho(?! (?:mot|1|may|chet|tan|nhu|bo|bet))"
    r"|ca(?! (?:nha|me|con|em|toi|vo|chau|be|ba|bo|hai|chong)))\b)"
)
# "đập" (smash) / "đạp" (kick) fold to "dap" like "đáp" (answer: hỏi đáp, giải đáp, đáp án)
# and "đắp" (cover: đắp chăn).
_DAP = r"(?<!hoi )(?<!giai )dap(?! (?:an|ung|xe|tra|lai|le|nuoc|loi|chan|de|mat na|dat|bo)\b)"
# "đâm" (stab) / "đấm" (punch) fold to "dam" like đảm bảo, đám cưới, đam mê, dám (dare):
# only before a victim, a weapon or "vào/chết".
_DAM = (
    r"dam(?= (?:vao|chet|bang|dao|toi|em|con|vo|chi|minh|tui|chau|be|nhau|lien|tiep|trung"
    r"|thung|mot nhat|may nhat|\d+ nhat|da)\b|$)"
)
# "tát" (slap) folds like "tắt" (switch off: tắt máy) and "tất" (all): only with a victim.
_TAT = r"tat (?:toi|em|con|vo|chau|be|me|chi|vao|bop|lia|lien|nhieu|tham|may cai|mot cai)"
# "giết"/"chém" also kill a chicken or a pig, and "chém gió" is chatting.
_KILL = (
    r"(?:giet|jet|chem)(?! (?:(?:con |mot con |)(?:ga|lon|heo|vit|cho|meo|trau|bo|de|ca|chuot"
    r"|sau|muoi|ran|thit)|thoi gian|mo|gio|gia)\b)"
)
# Verbs of physical/sexual violence and control, used after "bị", a progressive marker, an
# abuser, or before a victim.
_VERB = (
    rf"(?:{_DANH}|{_DAP}|{_DAM}|{_TAT}|{_KILL}|bop co|siet co|bop chet|bop nghet|bit mieng"
    r"|bit mom|dim nuoc|dim dau|da vao (?:bung|nguoi|mat|dau|nguc|lung|hang|chan)|dam da"
    r"|bao hanh(?! (?:dien thoai|may|san pham|xe|\d))|hanh ha|nguoc dai|hanh hung|tra tan"
    r"|dap pha|dap do|nem (?:do|ghe|chai|dao|bat|coc|noi)|keo toc|nam toc|giat toc|tum toc"
    r"|tum co|doa|de doa|giet chet|hiep|hjep|hiep dam|cuong hiep|cuong buc|cuong dam|xam hai"
    r"|so soang|so mo|sam so|lot do|tat axit|tat a xit|tat xang|dot nha"
    r"|duoi (?:danh|chem|giet|di|ra|theo))"
)
# Extra words that only mean violence after "bị": bị nhốt/trói/xích (locked up, tied,
# chained), bị bạo lực, bị quấy rối, bị theo dõi, bị uýnh/oánh (slang). "bị nhọt" (a boil)
# also folds to "bi nhot": accepted over-triggering.
_PASSIVE_ONLY = (
    r"(?:bao luc|oanh|nhot|giam long|giam giu|giam(?= (?:trong|o|lai|vao|tai)\b|$)|xich|troi"
    r"|bat nhot|khoa trai|quay roi|lam nhuc|theo doi|theo duoi|rinh|bam theo|deo bam"
    r"|dot(?! (?:tap huan|kiem tra|thi|\d|nay|truoc|sau|nghi|cao diem|dau|mot|hai|ba)\b)"
    r"|tat(?! (?:may|dien|den|nguon|mang|tieng|wifi|ket noi|ca|het|nhien|yeu)\b)"
    r"|ep (?:quan he|ngu|lam tinh|lay chong|cuoi|ket hon))"
)
# Words that may stand between "bị"/a progressive marker and the verb: the abuser, pronouns,
# frequency ("bị chồng và mẹ chồng đánh suốt", "đang bị nó đánh").
_GAPW = (
    r"(?:chong|vo|bo|cha|me|anh|chi|em|toi|no|han|ho|thang|lao|gia|ong|ba|chu|cau|bac|co|di"
    r"|duong|ke|ghe|nguoi|yeu|ban|trai|ny|hang|xom|ta|ay|do|kia|nha|ca|va|voi|lai|dang|hay"
    r"|thuong|xuyen|suot|lien|tuc|nhieu|lan|may|cu|ruou|say|con|chung|tui|bon|toan|moi|vua"
    r"|ngay|hom|nay|qua|dem|sang|minh|rat|nang|man|tan|nhan|that|su|mot|\d+|tran|roi|nua"
    r"|tiep|nhu|thu|lanh|tren|truoc|sau|bi|tay|dua|ten|hai|cung|den|ve|ra|tao|van|la)"
)
_GAP2 = rf"(?:{_GAPW} ){{0,2}}"
_GAP3 = rf"(?:{_GAPW} ){{0,3}}"
_GAP4 = rf"(?:{_GAPW} ){{0,4}}"
# Who is hurt, after the verb: first person, children, family, or how ("đánh em", "đánh
# con", "đánh chết", "đánh đập suốt"). "đánh vỡ bát" (break a bowl) is not "đánh vợ".
_VICTIM = (
    r"(?:toi|em|minh|tui|tao|chau|con|be|me con|hai me con|ca nha|chung toi|chung em|bon em"
    r"|vo(?! (?:bat|chen|coc|ly|dia|kinh|binh|guong|do))|chi|co|me|bo|anh"
    r"|chet|dap|bam|gay|vao|tham|da man|tan nhan|luon|suot|hoai|moi ngay"
    r"|hang ngay|lien tuc|thuong xuyen|den|nhu|ghen|don|mot tran|1 tran|tui"
    r"|ba (?:ay|noi|ngoai|nha|gia|cu))"
)
# Abuse as a topic rather than an event: done to whole groups ("xâm hại trẻ em"), or
# supposed ("nếu / khi / ai bị đánh thì ...", "nạn nhân bị ..."). "Trẻ em bị xâm hại" reads
# as an event and stays a disclosure.
_GENERIC_VICTIM = r"(?:tre em|tre|hoc sinh|phu nu|nu gioi|nguoi|nhau)"
_GENERIC = r"(?:nan nhan|(?<!\S)ai|(?<!\S)neu|truong hop|(?<!\S)khi|gia su|(?<!\S)lo|(?<!\S)so)"
_NOT_GENERIC = (
    r"(?<!nan nhan )(?<!\bai )(?<!\bneu )(?<!truong hop )(?<!\bkhi )(?<!gia su )(?<!\blo )"
    r"(?<!\bso )"
)
# Who hurts. "chống" (against: phòng chống, đấu tranh chống) folds to "chong" like chồng.
_AGENT = (
    r"(?:(?<!phong )(?<!tranh )chong|vo|bo|cha|bo duong|cha duong|bo ke|me ke|di ghe|me"
    r"|nguoi yeu|ny|ban trai|no|han|thang|lao|gia|ong|anh|chu|cau|bac|thay|hang xom|nguoi ta"
    r"|ho|bon|chung no|tui no|ten|ke|dua)"
)
# Violence happening now or about to: đang (dg/dag), vừa, lại, sắp, đòi (demands), định,
# sẽ, muốn. "định" hides in gia đình, quy định, nghị định, xác định...; "sẽ" in chia sẻ.
_NOW = (
    r"(?:dang|dag|dg|vua|moi|lai|van dang|sap|doi|(?<!chia )se|muon|toan|dang co"
    r"|(?<!gia )(?<!quy )(?<!nghi )(?<!xac )(?<!on )(?<!quyet )(?<!khang )(?<!co )"
    r"(?<!ket )(?<!thiet )(?<!chi )dinh)"
)
# Destinations across the border for trafficking rules (tq = Trung Quốc).
_ABROAD = (
    r"(?:ben )?(?:tq|trung quoc|trung|tau|ben kia|bien gioi|nuoc ngoai|china|campuchia"
    r"|lao|dai loan|han quoc|malaysia|myanmar)"
)
# Intent before self-harm words ("muốn/định/nghĩ đến chuyện tự tử").
_INTENT = (
    r"(?:muon|mun|muen|dinh|tinh|se|nghi den|nghi toi|chi muon|chac|phai|thoi thi|hay la"
    r"|can|toi|em|minh|tui|chau|tao)"
)
_INTENT_GAP = (
    r"(?:(?:se|muon|mun|dinh|tinh|chi|chac|phai|cung|da|dang|den|toi|ve|chuyen|viec|mot|lan"
    r"|nua|lai|that|thuc|su|roi|hay|la) ){0,2}"
)

_VI_RULES: Final[tuple[_Rule, ...]] = (
    # Calls for help. "cứu" folds to "cuu" like cựu (former), cừu (sheep), nghiên cứu
    # (research), tra cứu (look up), cứu trợ (relief): require a person or "với" after it, or
    # "cứu" standing at the start/end of the message.
    _rule(
        "help_call",
        "always",
        r"(?<!nghien )(?<!tra )(?<!truy )(?:cuu|ciu|kuu) (?:toi|em|anh|chi|con|me|bo|chau|minh"
        r"|tui|tao|voi|giup|gium|dum|nguoi|ban|ba|be|co|di|mang|chung|bon|nhanh|ngay|lay)",
        r"(?<!nghien )(?<!tra )(?<!truy )(?<!cap )(?:cuu|ciu)$",
        r"^(?:cuu|ciu)(?! (?:chien|can bo|hoc|giam doc|sinh|nhan vien|thu|bo truong|chu tich"
        r"|tro|ho|hoa|tinh|the|vo|chong)\b)",
        r"sos",
        r"goi (?:cong an|canh sat|113|115|cap cuu) (?:giup|gium|dum|ho|voi|di|ngay|den|toi"
        r"|cho em|cho toi|nhanh)",
        r"(?:giup|gium|dum|ho) (?:\S+ )?goi (?:cong an|canh sat|113|115|cap cuu)",
        r"(?:dang|gap|dang gap) nguy hiem",
    ),
    # Danger named, but also used in legal descriptions ("gây nguy hiểm đến tính mạng").
    _rule("danger", "personal", r"nguy hiem (?:qua|lam|den tinh mang)|nguy (?:den )?tinh mang"),
    # Vague pleas: also written by people with a general question, so a general question
    # wins. "làm ơn giúp tôi tìm ..." still triggers (accepted).
    _rule(
        "plea",
        "plea",
        r"(?<!da )giup (?:\S+ )?(?:voi|nhanh|ngay|gap)$",
        r"(?:ai|lam on|xin) (?:\S+ )?(?:giup|cuu)",
        # "số khẩn cấp" / "tổng đài khẩn cấp" name the number; they are not a plea.
        r"(?<!so )(?<!dai )(?<!day )(?<!goi )khan cap",
        r"het chiu (?:noi|duoc)",
        r"khong chiu (?:noi|dung) (?:duoc )?nua",
    ),
    # Violence happening now or announced: "chong dang danh em", "nó đang đòi giết tôi".
    _rule(
        "violence_now",
        "always",
        rf"{_NOW} {_GAP3}{_VERB}",
        rf"(?:dang|dag|dg|vua|moi|lai) (?:{_GAPW} )?bi {_GAP3}(?:{_VERB}|{_PASSIVE_ONLY})",
    ),
    # Disclosures: "tôi bị chồng đánh", "bị bạo hành", "vợ bị chồng đánh suốt".
    _rule(
        "violence_disclosed", "personal", rf"{_NOT_GENERIC}bi {_GAP4}(?:{_VERB}|{_PASSIVE_ONLY})"
    ),
    # Abuse as a topic: "xâm hại trẻ em", "nếu bị bạo lực", "đánh đập", "sàm sỡ".
    _rule(
        "abuse_named",
        "mention",
        rf"{_GENERIC} bi {_GAP4}(?:{_VERB}|{_PASSIVE_ONLY})",
        rf"{_VERB} {_GENERIC_VICTIM}",
        r"danh dap|bao hanh(?! (?:dien thoai|may|san pham|xe|\d))|hanh ha|nguoc dai|hanh hung"
        r"|tra tan|dap pha|dam da|danh ghen|danh nhau",
        r"hiep dam|cuong hiep|cuong buc|cuong dam|xam hai|so soang|so mo|sam so|loan luan"
        r"|xam pham tinh duc|quay roi",
    ),
    # Someone hurting someone: "chồng hay đánh em", "bố dượng đánh con", "đánh vợ".
    _rule(
        "violence_named",
        "personal",
        rf"{_VERB} {_VICTIM}",
        rf"{_AGENT} {_GAP3}{_VERB}",
        # Habitual: "hay / thường xuyên / ngày nào cũng / suốt ngày bạo hành".
        rf"(?:hay|thuong xuyen|suot ngay|nao cung|cu|luon) {_GAP3}{_VERB}",
        # Thrown out of the house (often at night, with nowhere to go).
        rf"duoi (?:{_ME} )?(?:ra khoi nha|ra duong|di khoi nha)",
    ),
    # Threats to kill, burn, disfigure, and violence that can kill ("đánh chết", "bóp cổ").
    _rule(
        "threat",
        "always",
        rf"(?:doi|doa|de doa|(?<!chia )se|(?<!gia )(?<!quy )(?<!nghi )dinh|muon|sap|noi|bao"
        rf"|tuyen bo|toan) {_GAP2}(?:{_KILL}|dam chet|danh chet|dot(?! (?:tap huan|kiem tra"
        rf"|thi|\d|nay|truoc|sau|nghi|cao diem|dau|mot|hai|ba)\b)|thieu song|tat axit"
        rf"|tat a xit|tat xang|bop co|bop chet|tat nuoc soi)",
        rf"(?:{_KILL}|giet chet|{_DAM}) (?:toi|em|minh|tui|tao|con|chau|me con|ca nha|vo|chi"
        r"|anh|ba|bo|me|het|luon|chet|vao)",
        r"(?:danh|dap|chem|dam|bop|dim|dot) chet",
        r"bop co|siet co|xiet co|that co (?:em|toi|minh|tui|chau|con|vo)|bop nghet|dim nuoc"
        r"|dim dau|bit mieng|bit mom|tam xang|tuoi xang|dot nha|tat axit|tat a xit|tat xang"
        r"|tat nuoc soi",
        # "đẩy" (push) folds like dạy (teach), dây, đầy: only "đẩy em ngã / xuống".
        rf"day {_ME} (?:nga|xuong|vao tuong|dap dau)",
    ),
    # Weapons in hand. "súng" (gun) folds like "sưng" (swollen), "gậy" (stick) like "gây"
    # (cause: "cấm gây bạo lực"): only after a verb of holding.
    _rule(
        "weapon",
        "always",
        r"(?:cam|vac|rut|cam theo|giau|lay|mang|chia|ke|vung|khua|dung|gio)"
        r" (?:con |cai |cay |khau |mot |1 |ca )?(?:dao|riu|bua|sung|kiem|mac|liem|xa beng"
        r"|thanh sat|gay (?:go|sat|to)|gay(?= (?:danh|dap|doa|duoi|dam|vut|phang|nem|chi)\b|$))",
        r"dao (?:ke|de|dam) (?:vao )?(?:co|bung|nguoi)",
    ),
    # Locked up, not let out: "em bị nhốt trong nhà", "không cho em ra khỏi nhà".
    # "trời" (sky), "giảm" (reduce) and "xích lại gần" fold like trói / giam / xích.
    _rule(
        "confinement",
        "personal",
        rf"nhot (?:{_ME}|lai|trong|o trong|vao)",
        rf"(?:troi|xich|giam) {_ME}",
        r"(?:troi|xich) (?:chan|tay|vao (?:cot|ghe|giuong))",
        r"khong cho (?:toi |em |minh |tui |chau |con |me con )?(?:ra khoi nha|ra ngoai|ve nha"
        r"|ve|di dau|lien lac|gap ai|dung dien thoai|an|ngu)",
        r"giam long|khoa (?:cua )?nhot",
    ),
    # Sexual abuse named in the message ("tôi bị hiếp" is a disclosure above).
    # "bắt đầu mối quan hệ" (start a relationship) is not "bắt ... quan hệ".
    _rule(
        "sexual_abuse",
        "personal",
        rf"(?:hiep|hjep) (?:{_ME}|be|con gai|chi)",
        r"so (?:nguc|vu|vung kin|cho kin|vao (?:nguoi|nguc|vung|cho|bo phan|dui|mong)|bo phan"
        r"|mong|dui)",
        r"(?:ep|bat(?! dau)|cuong ep) (?:\S+ ){0,2}(?:quan he|ngu voi|lam tinh|lam chuyen"
        r"|(?:xem|coi) phim (?:sex|nguoi lon|khieu dam|heo)|cho so)",
        # A (step)father coming into a child's room at night: a common way abuse is told.
        rf"vao (?:phong|giuong|cho ngu) (?:cua )?{_ME} (?:\S+ )?(?:ban dem|luc dem|dem|khi ngu)",
    ),
    # Followed / watched: "bị theo dõi", "nó cứ bám theo em".
    _rule(
        "stalking",
        "personal",
        rf"(?:dang|cu|hay|suot ngay|lai) (?:{_GAPW} ){{0,2}}(?:theo|bam theo|rinh|rinh rap"
        rf"|theo doi) {_ME}",
        r"rinh rap|rinh (?:nha|cua|ngoai)|bam theo|deo bam",
        rf"theo {_ME} ve|theo doi {_ME}",
        r"co (?:nguoi|ke|dua|thang|ong|may thang) (?:la |cu |hay |dang )?(?:theo|rinh|bam)",
    ),
    # Fear, hiding, not daring to go home. "sợ" folds like "số" (number: con số, số phận,
    # số điện thoại), so only with what follows fear.
    _rule(
        "fear",
        "always",
        r"(?:toi|em|minh|tui|chau|tao) (?:dang |rat |that |that su |thuc su |cung |qua )?"
        r"so(?= (?:qua|wa|lam|hai|lo|bi|no|han|chong|ong|bo|anh|ve|o nha|di|phai|mat|khong dam"
        r"|nguoi|thang)\b|$)",
        r"so (?:qua|wa|lam|ghe)",
        r"khong dam (?:ve|o nha|ra ngoai|ngu)",
        r"(?:dang|phai|di) tron(?! ven)|tron (?:khoi|ra|sang|ve)|bo tron",
    ),
    # Self-harm / suicide. "tự tử" folds like "từ từ" (slowly: "từ từ kể", "từ từ thôi"), so
    # "tu tu" needs intent before it and no ordinary continuation after it. "muốn chết"
    # idioms of heat, hunger, laughter are left out; "uống thuốc ngủ" (sleeping pills) only
    # in quantity. "ăn lá ngón" (gelsemium, a known method in the northern mountains) folds
    # like "ăn là ngon": accepted over-triggering. "không muốn sống với chồng nữa" is about
    # a marriage, not life.
    _rule(
        "self_harm",
        "always",
        rf"{_INTENT} {_INTENT_GAP}tu tu(?= (?:cho xong|cho roi|mat|chet|luon|bang|o|tai|khi"
        rf"|neu|vi|de|day)\b|$)",
        # The whole message "tự tử", or with what ends it ("tự tử cho xong").
        r"^tu tu$|tu tu (?:cho xong|cho roi|chet|mat)",
        r"tutu|tusat|tu sat|tu ket lieu|tu hai|tu lam dau|lam hai ban than"
        r"|giet (?:ban than|chinh minh)",
        r"(?<!nong )(?<!doi )(?<!lanh )(?<!cuoi )(?<!vui )(?<!ngon )(?<!dep )(?<!thich )"
        r"(?:muon|mun|muen|mong|chi muon) (?:duoc |di |)chet(?! (?:tiet|cuoi|roi di)\b)",
        r"(?:khong|chang|cha|het|khong con) (?:con )?(?:muon|mun|thiet|ly do|gi de) song"
        r"(?! (?:chung|voi|cung|o|tai|gan|canh|nhu|trong|them|vay|the|kieu|bang|nho|dua"
        r"|phu thuoc)\b)",
        r"chan song|chan doi|song (?:khong|chang) bang chet|song (?:de )?lam (?:gi|chi)"
        r"|chet con (?:hon|suong hon|sung suong hon)|thi chet (?:cho )?xong",
        r"chet (?:di |quach |luon )?cho (?:xong|roi|nhe|khoe|yen|dot)|chet quach|chet di cho",
        r"ket lieu (?:doi|ban than|cuoc doi|minh|chinh minh|cuoc song)",
        r"ket thuc (?:cuoc doi|cuoc song(?! (?:hon nhan|chung|vo chong))|doi minh"
        r"|ban than)|ket thuc (?:tat ca|moi thu)$",
        r"(?:uong|an|hut) (?:\S+ )?thuoc (?:chuot|sau|tru sau|diet co|doc)",
        r"uong (?:het |ca lo |ca vi |ca |nhieu )thuoc ngu|thuoc ngu (?:qua lieu|cho xong"
        r"|de chet|cho chet)|(?:se|dinh|muon|tinh) uong thuoc ngu|uong thuoc (?:qua lieu|het)",
        r"(?:an|uong|hai|nhai) la ngon|la ngon de",
        r"nhay (?:xuong )?(?:song|cau|lau|ho|gieng|tu tang|tu lau|suoi)",
        # "treo cờ" (hang a flag) folds like "treo cổ" (hang oneself).
        r"(?:muon|dinh|se|doi|tinh|thi|chi muon|bang cach|da|tu) (?:\S+ )?treo co"
        r"|treo co (?:tu tu|tu sat|chet|len|tren|o xa|roi)",
        r"rach (?:co )?tay|cat (?:co )?tay|cat mach|rach mach",
        r"bien mat khoi (?:the gioi|cuoc doi|cuoc song|the gian|day)|muon bien mat"
        r"|khong muon ton tai",
        flags=("self_harm",),
    ),
    # Injuries. "chạy mau" (run, quick!) folds like "chảy máu" (bleeding): both are
    # emergencies. "ngắt kết nối" (disconnect) and "thơm ngát" are not "ngất" (faint); "xíu"
    # (a bit) is not "xỉu" (faint) unless after "ngất"/"bị"; "hôn mẹ" (kiss mum) is not
    # "hôn mê"; "gây mùi" / "gây đau" are not "gãy mũi" / "gãy".
    _rule(
        "injury",
        "always",
        r"chay (?:nhieu )?mau|mau chay|be bet mau|bet mau|(?:ho|non|oi|khac) ra mau"
        r"|mat nhieu mau|mau me|toe dau|toe mau|thung (?:bung|dau)",
        r"(?:(?:bi|da|dang|vua|roi|lam) )?(?<!thom )(?<!xanh )ngat(?: (?:xiu|di|lim|roi"
        r"|luon))?$",
        r"(?:bi|da|dang|vua|roi|lam) ngat(?! (?:ket noi|mang|dien|cuoc goi|loi|quang|nhip"
        r"|ngu|tin|nuoc|song|lien lac|tho)\b)|ngat (?:xiu|di|lim|luon)|bi xiu",
        r"bat tinh|(?:bi|dang|da|roi) hon me|hon me (?:sau|roi|bat tinh|luon)"
        r"|khong (?:con )?tinh (?:day|lai)|mat y thuc",
        r"gay (?:tay|chan|xuong|rang|suon|co tay|canh tay|xuong suon|ngon|song mui"
        r"|mui(?! (?:hoi|kho|thoi|la)\b))",
        r"bam tim|tim bam|tham tim|sung (?:mat|mom|moi|vu|het|u|tay|chan|dau|ma)|u dau"
        r"|bong (?:nang|het|tay|mat|lua|nuoc soi)|bi bong|bi thuong|thuong tich|vet thuong"
        r"|chan thuong|rach da|(?<!bat )(?<!o )(?<!den )(?<!tu )dau (?:qua|wa|chet)(?! trinh\b)",
        # "số / tổng đài cấp cứu" names the ambulance number.
        r"(?<!so )(?<!dai )cap cuu|nhap vien|phai (?:di |vao )?vien"
        r"|dua (?:\S+ ){0,2}(?:vao |di )(?:vien|benh vien|cap cuu)",
        r"khong tho (?:duoc|noi)|kho tho|ngat tho|nghet tho",
        flags=("injury",),
    ),
    # Trafficking and forced marriage. "bán" (sell) folds like "bạn" (friend: "bạn tôi lấy
    # chồng", "bán hàng sang TQ" in a border province), so selling needs "bị", an intent, or
    # a person sold across the border.
    _rule(
        "trafficking",
        "personal",
        rf"{_NOT_GENERIC}bi {_GAP3}ban(?= (?:sang|qua|di|cho|ve|lam|vao|roi)\b|$)",
        rf"(?<!mua )(?<!buon )ban (?:vo|be|con gai|em gai|chau|phu nu|nguoi|di) (?:\S+ )?"
        rf"(?:sang|qua) {_ABROAD}",
        rf"(?:dinh|doi|dem|mang|dua|lua|muon|se|da) (?:\S+ )?ban (?:{_ME}|vo|chi|be|con gai"
        rf"|em gai|chau) (?:\S+ )?(?:sang|qua|cho|lay|lam)",
        rf"(?:dinh|doi|muon|lua) ban (?:{_ME}|vo|chi|be|con gai|em gai|chau)$",
        rf"(?:bi {_GAP2}lua|lua (?:{_ME}|chi|co|be|nguoi|phu nu|con gai|em gai|chau))"
        rf"(?! (?:dao|chon)\b) (?:\S+ ){{0,3}}(?:(?:sang|qua) {_ABROAD}|ban|lay chong|lam vo"
        rf"|lam dau|cuoi|ket hon)",
        r"(?:(?:bi |)(?:ep|bat(?! dau)|cuong ep) |ga ban )(?:\S+ ){1,3}(?:lay chong|ket hon"
        r"|lam vo|lam dau|cuoi(?! (?:tuan|thang|nam|cung|ngay|ki|ky|gio)\b))",
        r"bi (?:ep|bat|cuong ep) (?:lay chong|ket hon|lam vo|lam dau|cuoi)",
        rf"ga (?:{_ME}|con gai|be) cho",
        r"bi bat (?:di|mang di|dua di|sang)|bi bat coc",
        r"(?:giu|thu giu|tich thu|cam|lay mat) (?:het )?(?:giay to|ho chieu|chung minh|cmnd"
        r"|cccd|can cuoc)",
        rf"(?:(?:giu|nhot|giam) {_ME}|(?:bi|dang) (?:giu|nhot|giam)) (?:\S+ ){{0,2}}"
        rf"(?:o|ben|tai) {_ABROAD}",
        r"khong (?:cho|duoc|the) (?:\S+ ){0,2}ve (?:nuoc|viet nam|vn)",
        flags=("trafficking",),
    ),
    # Trafficking as a topic: "mua bán người", "ép cưới", "nếu bị bán sang TQ".
    _rule(
        "trafficking_named",
        "mention",
        r"(?:mua ban|buon ban|buon) (?:nguoi|phu nu|tre em|co dau|con gai|noi tang)",
        r"bat coc|vuot bien|(?:ep|cuong ep|bat) (?:lay chong|ket hon|cuoi)|ga ban",
        rf"{_GENERIC} bi {_GAP3}ban(?= (?:sang|qua|di|cho|ve|lam|vao|roi)\b|$)",
        flags=("trafficking",),
    ),
)

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
    r"|everyone|all of us)"
)
_EN_PERSON = r"(?:me|us|her|him|you|my|our|everyone|all of us|the (?:kids|children|baby))"

_EN_RULES: Final[tuple[_Rule, ...]] = (
    # "help" alone is the menu command; "help me find ..." is a question.
    _rule(
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
    _rule(
        "plea",
        "plea",
        r"(?:i|we) (?:really |urgently )?need help|urgent|(?:i|we) can t take it",
        r"emergency(?! (?:number|numbers|phone|phones|hotline|hotlines|line|lines|contact"
        r"|contacts|service|services)\b)",
    ),
    _rule(
        "violence_now",
        "always",
        r"(?:he|she|they|husband|boyfriend|father|dad|stepfather|stepdad|partner|someone"
        r"|somebody|man|guy|brother|uncle|wife|mother|mom)(?: s| is| are| re| keeps?| kept"
        r"| still| always| just| now| tried| tries| trying| will| ll| wants to)+ (?:\w+ )?"
        r"(?:beating|hitting|hurting|attacking|choking|strangling|kicking|punching|stabbing"
        r"|threatening|following|chasing|raping|touching|coming (?:for|after|to get) me"
        r"|breaking|smashing|banging on)",
    ),
    _rule(
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
    _rule(
        "threat",
        "always",
        r"(?:going to|gonna|will|ll|wants? to|threaten(?:s|ed|ing)? to|tried to|trying to"
        r"|try to|about to|said (?:he|she)(?: d| would| will)?|says (?:he|she)(?: ll| will)?)"
        rf" (?:\w+ )?(?:(?:kill|murder|hurt|beat|hit|rape|stab|shoot|strangle|choke|drown"
        rf"|sell) {_EN_PERSON}|burn (?:me|us|her|him|you|my|our|the house|the|it down)"
        r"|take (?:my|the) (?:kids|children|baby|son|daughter))",
        rf"kill {_EN_PERSON}",
    ),
    _rule("threatened", "personal", r"threat(?:en)?(?:s|ed|ing)?|death threats?"),
    _rule(
        "weapon",
        "always",
        r"knife|knives|gun|guns|machete|axe|weapon|pistol|rifle|acid attack|pour(?:ed)? petrol",
    ),
    _rule(
        "confinement",
        "personal",
        r"lock(?:s|ed)? (?:me |us )?(?:in|up|inside)|tied? (?:me|us|her) up|tied me",
        r"(?:won t|wont|will not|doesn t|does not|don t|not) let (?:me|us) (?:leave|go|out"
        r"|see|call|eat)",
        r"trapped|imprisoned|held captive|against my will|can t leave|cannot leave|cant leave"
        r"|not allowed to (?:leave|go out)|took my (?:phone|passport|papers|id)",
    ),
    _rule(
        "sexual_abuse",
        "personal",
        r"raped|raping|rapist|sexually (?:abused|assaulted|harassed)"
        r"|molest\w*|forc(?:e|es|ed|ing) (?:me |her )?(?:to have sex|into sex|sex"
        r"|to sleep with)",
    ),
    _rule(
        "stalking",
        "personal",
        r"follow(?:s|ed|ing) me|stalk(?:s|ed|ing|er)?|watching my (?:house|home)"
        r"|outside my (?:house|door|home|room)",
    ),
    # "I'm afraid I don't understand" is politeness, not fear.
    _rule(
        "fear",
        "always",
        r"(?:i m|im|i am|i feel|we are|we re|i was) (?:so |really |very |too |)(?:scared"
        r"|terrified|frightened|hiding|afraid(?= (?:of|to go|he|she|for|that he|that she|my)\b"
        r"|$))",
        r"(?:afraid|scared) (?:to go home|of (?:my|him|her))",
    ),
    _rule(
        "self_harm",
        "always",
        r"kill(?:ing)? myself|suicid\w*|end (?:my|it) (?:life|all)|end it all"
        r"|take my (?:own )?life|(?:want|wanna|wish|going) (?:to )?die|wish i (?:was|were) dead"
        r"|better off dead|(?:don t|dont|do not) want to (?:live|be alive)|no reason to live"
        r"|(?:hurt|cut|cutting|harm|harming) myself|self harm|overdose",
        flags=("self_harm",),
    ),
    _rule(
        "injury",
        "always",
        r"bleed\w*|blood|unconscious|passed out|pass out|faint(?:ed|ing)|knocked (?:me )?out"
        r"|(?:broken|broke my) (?:arm|leg|bone|nose|rib|ribs|jaw|wrist|finger|hand|tooth"
        r"|teeth)|can t breathe|cant breathe|cannot breathe|not breathing|stabbed|concussion"
        r"|ambulance|injur\w*|wounded|wounds?|fracture\w*|bruise\w*|burned me|burnt me",
        flags=("injury",),
    ),
    # Topics, not disclosures: "rape", "human trafficking", "forced marriage".
    _rule(
        "abuse_named",
        "mention",
        r"rape|sexual (?:abuse|assault|harassment|violence)|incest|child abuse",
    ),
    _rule(
        "trafficking_named",
        "mention",
        r"traffick\w*|kidnap\w*|abduct\w*|forced marriage",
        flags=("trafficking",),
    ),
    _rule(
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

# --- General questions (suppress `personal`/`plea` rules unless the writer is involved) ---

_VI_INFO = re.compile(
    r"\b(?:la gi|la sao|nghia la|co nghia|khai niem|dinh nghia|muc phat|xu phat|bi phat"
    r"|phat tien|phat tu|phat hanh chinh|phat (?:\S+ )?bao nhieu|phat the nao|phat nhu the nao"
    r"|bao nhieu nam|nam tu|di tu|ngoi tu|an tu|toi gi|toi danh|toi pham|pham toi|truy cuu"
    r"|hinh su|luat|nghi dinh|quy dinh|dieu \d+|khoan \d+|thong tu|phap luat|phap ly"
    r"|hanh vi nao|nhung hanh vi|cac hanh vi|hinh thuc|cac dang|bieu hien|dau hieu"
    r"|nguyen nhan|hau qua|tac hai|thong ke|so lieu|ty le|tuyen truyen|phong chong|phong ngua"
    r"|thang hanh dong|chien dich|bai thi|cuoc thi|tai lieu|bao cao|co phai (?:la )?bao"
    r"|co bi coi la|co duoc coi la|co tinh la|co phai la|duoc xem la|bi xu ly|boi thuong"
    r"|quyen|nan (?:mua ban|buon ban|bao luc)|van nan|tinh trang"
    r"|tinh hinh|bao nhieu vu|so vu|chia se ve|tim hieu ve|noi ve|thao luan|hoi ve"
    # An officer's account of cases handled ("hòa giải 3 vụ đánh nhau") is not a cry for help.
    r"|\d+ vu|mot vu|vu viec|hoa giai|da xu ly|tiep nhan)\b"
)
_EN_INFO = re.compile(
    r"\b(?:what is|what s|whats|what are|what does|what counts|meaning of|define|definition"
    r"|penalt\w*|fine for|fines|punish\w*|sentence for|law|laws|legal|illegal|crime"
    r"|statistics|campaign|survey|report on|signs of|types of|forms of|a form of"
    r"|examples? of|research|article|essay|homework|prevention|prevent|counts? as|is it"
    r"|is this|does it count)\b"
)
# First-person involvement. Phrases that only ask ("cho tôi hỏi", "em muốn biết",
# "I want to know") and words that merely contain a pronoun (trẻ em, chị em, tội = "toi")
# are removed first.
_VI_ASKING = re.compile(
    r"\b(?:(?:cho |xin cho )?(?:toi|em|minh|tui|chau|con)(?: \S+){0,2} (?:hoi|biet|tim hieu"
    r"|tham khao|tra cuu|doc|xin thong tin|can thong tin|thac mac)"
    r"|cho (?:toi|em|minh|tui|chau|con)"
    r"|(?:toi|em|minh|tui) (?:la|dang la|lam) (?:can bo|sinh vien|hoc sinh|giao vien|nha bao"
    r"|phong vien|cong an|canh sat|tuyen truyen vien|hoi vien|chu tich)"
    r"|tre em|chi em|anh em|em be|toi pham|pham toi|toi danh|toi gi|co toi|toi ac|buoi toi"
    r"|toi nay|toi qua|toi mai|toi (?=(?:hiep|cuong|giet nguoi|mua ban|buon ban|xam hai"
    r"|loan luan|hanh ha|nguoc dai|co y|bao luc|xuc pham|lang ma|bat coc))"
    # "xã tôi" (my commune), "bản em" (my village): an officer speaking for a place.
    r"|(?:xa|thon|ban|lang|xom|phuong|dia phuong|co quan|don vi|hoi|truong) (?:toi|em|minh"
    r"|chung toi))\b"
)
_VI_PERSONAL = re.compile(r"\b(?:toi|em|minh|tui|tao|chau|chung toi|chung em|bon em)\b")
_EN_ASKING = re.compile(
    r"\b(?:(?:can|could|may) i ask|i (?:want|would like|d like|need|wish|wanted) to (?:know"
    r"|ask|learn|understand|find out)|i have a question|i m (?:a student|researching|asking"
    r"|wondering|curious)|i wonder|tell me|let me know|explain to me|help me understand)\b"
)
_EN_PERSONAL = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|im)\b")

# --- Children (flag only) -----------------------------------------------------------------

# "con" is also "còn" (still) and "bé" also "bè" (bạn bè: friends), so only combinations.
_VI_CHILD = re.compile(
    r"\b(?:con (?:toi|em|minh|tui|tao|cua (?:toi|em|minh)|gai|trai|nho|be|ruot|rieng|ghe"
    r"|chong|chung)|em be|(?<!ban )be (?:gai|trai|con|nha|nho|bi|dang)|con be|thang be"
    r"|chau (?:toi|em|minh|tui|gai|trai|be|nho|ngoai|noi)|tre (?:em|con|nho|so sinh"
    r"|vi thanh nien)|dua (?:tre|nho|be|con)|hoc sinh|vi thanh nien|bo duong|cha duong|bo ke"
    r"|me ke|di ghe|loan luan|tao hon|(?:[1-9]|1[0-7]) tuoi|(?:danh|dap|tat|hiep|xam hai"
    r"|bao hanh|nguoc dai|hanh ha|so soang) (?:con|be|chau)|^(?:be|con|chau)(?: \S+)? bi)\b"
)
_EN_CHILD = re.compile(
    r"\b(?:child|children|kid|kids|son|daughter|baby|babies|stepdaughter|stepson|stepfather"
    r"|stepdad|toddler|niece|nephew|little (?:girl|boy|sister|brother)|my (?:boy|girl)"
    r"|teenager|underage|schoolgirl|schoolboy|(?:[1-9]|1[0-7]) ?(?:years? old|yo"
    r"|yrs? old))\b"
)

# Stretched letters in chat ("cuuuu", "emmm", "đánhhh"). Folded Vietnamese has no doubled
# letters except "uu" (cứu, ưu), so other runs shrink to one letter; English keeps doubles.
_VI_STRETCH = re.compile(r"([a-tv-z])\1+")
_U_STRETCH = re.compile(r"u{3,}")
_EN_STRETCH = re.compile(r"([a-z])\1{2,}")

# "help" alone is the menu command, but "help!" / "HELP" (shouted) is a call for help; the
# punctuation and case are gone after normalising, so this looks at the raw text.
_RAW_HELP: Final = _Rule(
    "help_call", "always", re.compile(r"(?i:\bhelp\s*!)|\bHELP\b"), frozenset()
)

_SAFE: Final = Assessment(emergency=False)


def _assess(text: str) -> Assessment:
    raw = normalize(text, expand=False)
    if not raw:
        return _SAFE
    vi = normalize(_U_STRETCH.sub("uu", _VI_STRETCH.sub(r"\1", raw)))
    en = _EN_STRETCH.sub(r"\1", raw)
    hits = [rule for rule in _VI_RULES if rule.pattern.search(vi)]
    en_hits = [rule for rule in _EN_RULES if rule.pattern.search(en)]
    if "!" in text or "HELP" in text.upper():
        marks_off = "".join(
            c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
        )
        if _RAW_HELP.pattern.search(marks_off):
            en_hits.append(_RAW_HELP)
    if not hits and not en_hits:
        return _SAFE
    info = bool(_VI_INFO.search(vi) or _EN_INFO.search(en))
    # First person is judged per language: "me" is English "me" but Vietnamese "mẹ" (mother).
    personal_vi = bool(_VI_PERSONAL.search(_VI_ASKING.sub(" ", vi)))
    personal_en = bool(_EN_PERSONAL.search(_EN_ASKING.sub(" ", en)))

    def counts(rule: _Rule, personal: bool) -> bool:
        if rule.strength == "always":
            return True
        if rule.strength == "personal":
            return personal or not info
        if rule.strength == "mention":
            return personal
        return not info

    emergency = any(counts(r, personal_vi) for r in hits) or any(
        counts(r, personal_en) for r in en_hits
    )
    hits += en_hits
    names = tuple(dict.fromkeys(rule.name for rule in hits))
    if not emergency:
        # Kept for debugging: what matched, and why it did not count.
        why = "general_question" if info else "topic_only"
        return Assessment(emergency=False, reasons=(*names, why))
    flags: set[Flag] = set()
    for rule in hits:
        flags |= rule.flags
    child = bool(_VI_CHILD.search(vi) or _EN_CHILD.search(en))
    return Assessment(
        emergency=True,
        child=child,
        injury="injury" in flags,
        self_harm="self_harm" in flags,
        trafficking="trafficking" in flags,
        reasons=(*names, "child") if child else names,
    )


def assess(text: str) -> Assessment:
    """Decide whether a citizen's message signals danger, and which kind."""
    try:
        return _assess(text)
    except Exception:  # pragma: no cover - defensive: recall first, never a crash
        # A bug in a rule must not silence a cry for help: treat the message as an emergency.
        return Assessment(emergency=True, reasons=("internal_error",))
