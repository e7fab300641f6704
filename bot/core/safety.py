"""Emergency (danger) detector: the first check on every citizen message (DESIGN §3.5).

Recall first: over-triggering costs one FAQ answer, missing costs far more. The check runs
word-sequence patterns over `bot.text.normalize`d text (no diacritics, shorthand expanded),
so "Chồng đang đánh em", "chong dang danh em" and "ck đg đánh e" meet the same rules.

Rules come in three strengths:

* ``always`` — danger in itself (a call for help, violence happening now, a threat to kill,
  a weapon, self-harm, an injury, fear): triggers in any message.
* ``personal`` — violence, abuse, confinement, sexual abuse, trafficking named in the
  message: triggers unless the message is a general question (definition, law, penalty,
  campaign) that involves no first person. So "mức phạt đánh vợ là bao nhiêu" is answered
  from the FAQ, while "chồng đánh em thì bị phạt bao nhiêu" (the asker is the victim) and
  plain "vợ bị chồng đánh suốt" trigger.
* ``plea`` — a vague plea ("giúp em với", "i need help"): triggers unless the message is a
  general question at all.

Known, deliberate over-triggering (recall first) is listed next to each rule; negation is not
handled ("chồng không đánh em" triggers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from bot.text import normalize

__all__ = ["Assessment", "assess"]

Strength = Literal["always", "personal", "plea"]
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

# "đánh" folds to "danh", which also starts many unrelated words: danh sách (list), danh bạ
# (contacts), đánh giá (evaluate), dành cho (for), danh dự (honour), đánh bài (cards)...
# Those compounds are excluded; "dành cho" only when not "đánh cho (một trận|chết)".
_DANH = (
    r"(?:danh|dahn|dnah|oanh|uynh)(?! (?:sach|gia|muc|hieu|tinh|thiep|nghia|rang|bai|co|thuc"
    r"|may|so|tieng|nhan|vong|lua|bac|golf|chu|du|phan|xung|thang|lam|thue|van|bong|dan|hoi"
    r"|giac|diem|ngon|xung|cho(?! (?:mot|1|may|chet|tan|nhu|bo|bet))"
    r"|ca(?! (?:nha|me|con|em|toi|vo|chau|be|ba|bo|hai|chong)))\b)"
)
# "đập" (smash) / "đạp" (kick) fold to "dap" like "đáp" (answer: hỏi đáp, đáp án).
_DAP = r"(?<!hoi )dap(?! (?:an|ung|xe|tra|lai|le|nuoc|loi)\b)"
# "đâm" (stab) / "đấm" (punch) fold to "dam" like đảm bảo, đám cưới, đam mê, dám (dare).
_DAM = (
    r"dam(?! (?:bao|cuoi|me|nhan|dong|tang|phan|duong|dang|ruou|hat|tham|am|nuoc|lay|la|nghi"
    r"|ra|chac|trach|nhiem|nhan|khong|noi|hoi|mua)\b)"
)
# "tát" (slap) folds like "tắt" (switch off: tắt máy) and "tất" (all): only with a victim.
_TAT = r"tat (?:toi|em|con|vo|chau|be|me|chi|vao|bop|lia|lien|nhieu|tham|may cai|mot cai)"
# Verbs of physical/sexual violence and control, used after "bị", a progressive marker, an
# abuser, or before a victim.
_VERB = (
    rf"(?:{_DANH}|{_DAP}|{_DAM}|{_TAT}|chem|bop co|siet co|bop chet|bop nghet|bit mieng|bit mom"
    r"|dim nuoc|dim dau|da vao|dam da|bao hanh(?! (?:dien thoai|may|san pham|xe|\d))|hanh ha"
    r"|nguoc dai|hanh hung|tra tan|dap pha|dap do|nem (?:do|ghe|chai|dao|bat|coc|da|noi)"
    r"|keo toc|nam toc|giat toc|tum toc|tum co|doa|de doa|giet|jet|giet chet|hiep|hjep|hiep dam"
    r"|cuong hiep|cuong buc|cuong dam|xam hai|so soang|so mo|sam so|dam o|lot do"
    r"|tat axit|tat a xit|tat xang|dot nha|duoi (?:danh|chem|giet|di|ra))"
)
# Extra words that only mean violence after "bị": bị nhốt/trói/xích (locked up, tied,
# chained), bị bạo lực, bị quấy rối, bị theo dõi. "bị nhọt" (a boil) also folds to "bi nhot":
# accepted over-triggering.
_PASSIVE_ONLY = (
    r"(?:bao luc|nhot|giam long|giam giu|giam|xich|troi|bat nhot|khoa trai|quay roi|lam nhuc"
    r"|theo doi|theo duoi|rinh|bam theo|deo bam|dot(?! (?:tap huan|kiem tra|thi|\d|nay|truoc"
    r"|sau|nghi|cao diem|dau))|tat(?! (?:may|dien|den|nguon|mang|tieng|wifi|ket noi|ca|het"
    r"|nhien|yeu))|ep (?:quan he|ngu|lam tinh|lay chong|cuoi|ket hon))"
)
# Words that may stand between "bị"/a progressive marker and the verb: the abuser, pronouns,
# frequency ("bị chồng và mẹ chồng đánh suốt", "đang bị nó đánh").
_GAPW = (
    r"(?:chong|vo|bo|cha|me|anh|chi|em|toi|no|han|ho|thang|lao|gia|ong|ba|chu|cau|bac|co|di"
    r"|duong|ke|ghe|nguoi|yeu|ban|trai|ny|hang|xom|ta|ay|do|kia|nha|ca|va|voi|lai|dang|hay"
    r"|thuong|xuyen|suot|lien|tuc|nhieu|lan|may|cu|ruou|say|con|chung|tui|bon|toan|moi|vua"
    r"|ngay|hom|nay|qua|dem|sang|minh|rat|nang|man|tan|nhan|that|su|mot|\d+|tran|roi|nua"
    r"|tiep|nhu|thu|lanh|tren|truoc|sau|bi|lao|tay|dua|ten|hai|cung|den|ve|ra|tao)"
)
_GAP3 = rf"(?:{_GAPW} ){{0,3}}"
_GAP4 = rf"(?:{_GAPW} ){{0,4}}"
# Who is hurt, after the verb: first person, children, family, or how ("đánh em", "đánh
# con", "đánh chết", "đánh đập suốt").
_VICTIM = (
    r"(?:toi|em|minh|tui|tao|chau|con|be|me con|hai me con|ca nha|chung toi|chung em|bon em"
    r"|vo|chi|co|me|bo|anh|nguoi|nhau|tre|hoc sinh|phu nu|chet|dap|dau|bam|gay|vao|tham"
    r"|da man|tan nhan|luon|suot|hoai|moi ngay|hang ngay|lien tuc|thuong xuyen|den|nhu|ghen"
    r"|don|mot tran|1 tran|tui|ba (?:ay|noi|ngoai|nha|gia|cu))"
)
# Who hurts. "chống" (against: phòng chống, chống lại) folds to "chong" like chồng (husband).
_AGENT = (
    r"(?:(?<!phong )(?<!tranh )chong|vo|bo|cha|bo duong|cha duong|bo ke|me ke|di ghe|me"
    r"|nguoi yeu|ny|ban trai|no|han|thang|lao|gia|ong|anh|chu|cau|bac|thay|hang xom|nguoi ta"
    r"|ho|bon|chung no|tui no|ten|ke|dua)"
)
# Violence happening now or about to: đang (dg/dag), vừa, lại, sắp, đòi (demands), định,
# sẽ, muốn. "gia đình" contains "dinh", hence the look-behind.
_NOW = r"(?:dang|dag|dg|vua|moi|lai|van dang|sap|doi|(?<!gia )dinh|se|muon|toan|dang co)"
# Destinations across the border for trafficking rules (tq = Trung Quốc).
_ABROAD = (
    r"(?:ben )?(?:tq|trung quoc|trung|tau|ben kia|bien gioi|nuoc ngoai|china|campuchia"
    r"|lao|dai loan|han quoc|malaysia|myanmar)"
)
_ME = r"(?:toi|em|minh|tui|tao|chau|con|me con|chung toi|chung em|bon em)"

_VI_RULES: Final[tuple[_Rule, ...]] = (
    # Calls for help. "cứu" folds to "cuu" like cựu (former), cừu (sheep), nghiên cứu
    # (research), tra cứu (look up), cứu trợ (relief): require a person or "với" after it, or
    # "cứu" standing at the start/end of the message.
    _rule(
        "help_call",
        "always",
        r"(?<!nghien )(?<!tra )(?<!truy )(?:cuu|ciu|kuu|cu u) (?:toi|em|anh|chi|con|me|bo|chau"
        r"|minh|tui|tao|voi|giup|gium|dum|nguoi|ban|ba|be|co|di|mang|chung|bon|nhanh|ngay|lay)",
        r"(?<!nghien )(?<!tra )(?<!truy )(?<!cap )(?:cuu|ciu)$",
        r"^(?:cuu|ciu)(?! (?:chien|can bo|hoc|giam doc|sinh|nhan vien|thu|bo truong|chu tich"
        r"|tro|ho|hoa|tinh|the))",
        r"sos",
        r"goi (?:cong an|canh sat|113|115|cap cuu) (?:giup|gium|dum|ho|voi|di|ngay|den|toi"
        r"|cho em|cho toi|nhanh)",
        r"(?:giup|gium|dum|ho) (?:\S+ )?goi (?:cong an|canh sat|113|115|cap cuu)",
        r"(?:dang|gap|dang gap|rat|cuc ky) nguy hiem",
        r"nguy hiem (?:qua|lam|den tinh mang|tinh mang)",
        r"nguy (?:den )?tinh mang",
    ),
    # Vague pleas: also sent by people with a general question, so a general question wins.
    _rule(
        "plea",
        "plea",
        r"giup (?:\S+ )?(?:voi|nhanh|ngay|gap|em|toi)$",
        r"(?:ai|lam on|xin) (?:\S+ )?(?:giup|cuu)",
        # "số khẩn cấp" / "tổng đài khẩn cấp" name the number, they are not a plea.
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
    _rule("violence_disclosed", "personal", rf"bi {_GAP4}(?:{_VERB}|{_PASSIVE_ONLY})"),
    # Someone hurting someone: "chồng hay đánh em", "bố dượng đánh con", "đánh vợ".
    _rule(
        "violence_named",
        "personal",
        rf"{_VERB} {_VICTIM}",
        rf"{_AGENT} {_GAP3}{_VERB}",
        r"danh dap|bao hanh(?! (?:dien thoai|may|san pham|xe|\d))|hanh ha|nguoc dai|hanh hung"
        r"|tra tan|dap pha|dam da|danh ghen|danh nhau",
        r"(?:toi|em|minh|tui|chau|con) (?:rat |that su |thuc su )?so (?:chong|bo|no|han|ve nha)",
    ),
    # Threats to kill, burn, disfigure, and violence that can kill ("đánh chết", "bóp cổ").
    _rule(
        "threat",
        "always",
        r"(?:doi|doa|de doa|se|dinh|muon|sap|noi|bao|tuyen bo|toan|chuc) (?:\S+ ){0,2}"
        r"(?:giet|jet|chem|dam chet|danh chet|dot|thieu song|tat axit|tat a xit|tat xang"
        r"|bop co|bop chet|tat nuoc soi|cat co)",
        r"(?:giet|jet|giet chet|chem|dam) (?:toi|em|minh|tui|tao|con|chau|me con|ca nha|vo|chi"
        r"|anh|ba|bo|me|het|luon|chet|nguoi|vao)",
        r"(?:danh|dap|chem|dam|bop|dim|dot) chet",
        r"bop co|siet co|bop nghet|dim nuoc|dim dau|bit mieng|bit mom|tam xang|tuoi xang"
        r"|dot nha|tat axit|tat a xit|tat xang|tat nuoc soi",
    ),
    # Weapons in hand. "súng" (gun) folds like "sưng" (swollen): only with a verb.
    _rule(
        "weapon",
        "always",
        r"(?:cam|vac|rut|dung|lay|mang|giau|chia|dua|ke|go|cam theo) (?:\S+ )?(?:dao|rua|bua"
        r"|sung|gay|kiem|keo|xang|axit|a xit|mac|liem)",
        r"dao (?:ke|de|dam) (?:vao )?(?:co|bung|nguoi)",
    ),
    # Locked up, not let out: "em bị nhốt trong nhà", "không cho em ra khỏi nhà".
    _rule(
        "confinement",
        "personal",
        rf"(?:nhot|xich|troi|giam) (?:{_ME}|lai|trong|o trong|vao)",
        r"khong cho (?:toi |em |minh |tui |chau |con |me con )?(?:ra khoi nha|ra ngoai|ve nha"
        r"|ve|di dau|lien lac|gap ai|dung dien thoai|an|ngu)",
        r"giam long|khoa (?:cua )?nhot",
    ),
    # Sexual abuse named in the message ("tôi bị hiếp" is a disclosure above).
    _rule(
        "sexual_abuse",
        "personal",
        r"hiep dam|cuong hiep|cuong buc|cuong dam|xam hai|so soang|so mo|sam so|dam o"
        r"|loan luan|xam pham tinh duc",
        rf"(?:hiep|hjep) (?:{_ME}|be|con gai|chi)",
        r"so (?:nguc|vu|vung kin|cho kin|vao (?:nguoi|nguc|vung|cho|bo phan|dui|mong)|bo phan"
        r"|mong|dui)",
        r"(?:ep|bat|cuong ep) (?:\S+ ){0,2}(?:quan he|ngu voi|lam tinh|lam chuyen|xem phim"
        r"|coi phim|cho (?:so|xem))",
    ),
    # Followed / watched: "bị theo dõi", "nó cứ bám theo em".
    _rule(
        "stalking",
        "personal",
        rf"(?:dang|cu|hay|suot ngay|lai) (?:{_GAPW} ){{0,2}}(?:theo|bam theo|rinh|rinh rap"
        rf"|theo doi|doi) {_ME}",
        r"rinh rap|rinh (?:nha|cua|ngoai)|bam theo|deo bam",
        rf"theo {_ME} ve|theo doi {_ME}",
        r"co (?:nguoi|ke|dua|thang|ong|may thang) (?:la |cu |hay |dang )?(?:theo|rinh|bam)",
    ),
    # Fear, hiding, not daring to go home.
    _rule(
        "fear",
        "always",
        r"(?:toi|em|minh|tui|chau|con|tao) (?:dang |rat |that |that su |thuc su |cung |qua )?"
        r"so(?! (?:dien thoai|\d|nha|tai khoan|ho|la|may|nao|gi|tong|thu|cmnd|cccd|dt))",
        r"so (?:qua|lam|wa|chet|that|ghe)",
        r"khong dam (?:ve|o nha|ve nha|ra|di|ngu)",
        r"(?:dang|phai|di) tron(?! ven)|tron (?:khoi|ra|sang|ve)|bo tron",
    ),
    # Self-harm / suicide. "tự tử" folds like "từ từ" (slowly: "từ từ kể"), so "tu tu" needs
    # intent before it or not a verb after it; "muốn chết" idioms of heat, hunger, laughter
    # are left out. "ăn lá ngón" (gelsemium, a known method in the northern mountains) folds
    # like "ăn là ngon": accepted over-triggering.
    _rule(
        "self_harm",
        "always",
        r"(?:muon|mun|muen|dinh|tinh|se|nghi den|nghi toi|nghi|chi muon|thi|chac|phai|de"
        r"|hay la|thoi thi|can|toi|em|minh|tui|chau|tao|con) (?:\S+ ){0,2}"
        r"(?:tu tu(?! (?:ke|noi|lam|doc|hoc|tim|hieu|tra|viet|xem|nhap|gui|da|tinh|suy|nghi"
        r"|ban|thu|giai|xu|bao|hoi|di|ve|an|uong|tap|nhan|lai|tro|chia|dung|cho|doi|chi|dien"
        r"|tung))|tutu|tusat)",
        r"tu sat|tu ket lieu|tu hai|tu lam dau|lam hai ban than|giet (?:ban than|chinh minh)",
        r"(?<!nong )(?<!doi )(?<!lanh )(?<!cuoi )(?<!vui )(?<!ngon )(?<!dep )(?<!thich )"
        r"(?:muon|mun|muen|mong|chi muon|them) (?:duoc |di |)chet(?! (?:tiet|cuoi|roi di))",
        r"(?:khong|chang|cha|het|khong con) (?:con )?(?:muon|mun|thiet|thich|ly do|gi de) song",
        r"chan song|song (?:khong|chang) bang chet|song (?:de )?lam gi|song lam chi",
        r"chet (?:di |quach |luon )?cho (?:xong|roi|nhe|khoe|yen|dot)|chet quach|chet di cho",
        r"ket lieu (?:doi|ban than|cuoc doi|minh|chinh minh|cuoc song)",
        r"ket thuc (?:cuoc doi|cuoc song|doi minh|tat ca|moi thu|ban than)",
        r"uong (?:\S+ )?thuoc (?:chuot|sau|tru sau|diet co|ngu|doc)|uong thuoc (?:qua lieu|het)",
        r"(?:an|uong|hai|nhai) la ngon|la ngon de",
        r"nhay (?:xuong )?(?:song|cau|lau|ho|gieng|tu tang|tu lau|suoi)",
        r"treo co|rach (?:co )?tay|cat (?:co )?tay|cat mach|rach mach",
        r"bien mat khoi|khong muon ton tai",
        flags=("self_harm",),
    ),
    # Injuries. "chạy mau" (run, quick!) folds like "chảy máu" (bleeding): both are
    # emergencies; "ngắt kết nối" (disconnect) is not "ngất" (faint); "xíu" (a bit) is not
    # "xỉu" (faint) unless after "ngất"/"bị".
    _rule(
        "injury",
        "always",
        r"chay (?:nhieu )?mau|mau chay|be bet mau|bet mau|dam mau|(?:ho|non|oi|khac) ra mau"
        r"|mat (?:nhieu )?mau|mau me|toe dau|vo dau|be dau|thung (?:bung|dau)",
        r"(?:(?:bi|da|dang|vua|roi|lam) )?ngat(?! (?:ket noi|mang|dien|cuoc goi|loi|quang"
        r"|nhip|ngu|tin|nuoc|song|lien lac|tho))(?: (?:xiu|di|lim|roi|luon))?$"
        r"|(?:bi|da|dang|vua|roi|lam) ngat(?! (?:ket noi|mang|dien|cuoc goi|loi|quang|nhip"
        r"|ngu|tin|nuoc|song|lien lac|tho))|ngat (?:xiu|di|lim|luon)|bi xiu"
        r"|xiu (?:roi|luon|di)|bat tinh|hon me|khong (?:con )?tinh (?:day|lai)|mat y thuc",
        r"gay (?:tay|chan|xuong|rang|mui|suon|co tay|canh tay|xuong suon|dau|ngon)",
        r"bam tim|tim bam|sung (?:mat|mom|moi|vu|het|u|tay|chan|dau|ma|vu)|u dau|bong (?:nang|het"
        r"|tay|mat|lua|nuoc soi)|bi bong|bi thuong|thuong tich|vet thuong|chan thuong"
        r"|rach da|dau (?:qua|lam|chet)",
        r"cap cuu|nhap vien|phai (?:di |vao )?vien|dua (?:\S+ ){0,2}(?:vao |di )(?:vien|benh vien"
        r"|cap cuu)",
        r"khong tho (?:duoc|noi)|kho tho|ngat tho|nghet tho",
        flags=("injury",),
    ),
    # Trafficking and forced marriage. "bán" (sell) folds like "bạn" (friend): "bị bạn bè"
    # and "bạn trai" are excluded; "bạn tôi sang TQ" still triggers (over-triggering in a
    # border province, accepted).
    _rule(
        "trafficking",
        "personal",
        rf"bi {_GAP3}ban(?! (?:trai|gai|be|than|hoc|cung|dong nghiep|bo|hang|gai|nhau|tin))",
        rf"ban (?:\S+ ){{0,2}}(?:sang|qua|cho|lay|ve) {_ABROAD}",
        rf"(?:bi|da|dinh|muon|doi|se) (?:\S+ ){{0,2}}ban (?:{_ME}|vo|chi|be)",
        r"ban (?:\S+ ){0,2}(?:lam vo|lay chong|lam dau|cho (?:nguoi|dan ong|ong|thang))",
        rf"(?:bi |)lua(?! dao) (?:\S+ ){{0,3}}(?:(?:sang|qua) {_ABROAD}|ban|lay chong|lam vo"
        rf"|lam dau|cuoi|ket hon)",
        r"(?:ep|bat|cuong ep|ga|ban|lua) (?:\S+ ){0,3}(?:lay chong|cuoi|ket hon|lam vo|lam dau)",
        rf"ga (?:{_ME}|con gai|be) cho",
        r"(?:mua ban|buon ban|buon) (?:nguoi|phu nu|tre em|co dau|con gai|noi tang)",
        r"bat coc|bi bat (?:di|mang di|dua di|sang)|vuot bien",
        r"(?:giu|thu giu|tich thu|cam|lay mat) (?:het )?(?:giay to|ho chieu|chung minh|cmnd"
        r"|cccd|can cuoc)",
        rf"(?:giu|nhot|giam|ket) (?:\S+ ){{0,2}}(?:o|ben) {_ABROAD}",
        r"khong (?:cho|duoc|the) (?:\S+ ){0,2}ve (?:nuoc|viet nam|vn|que|nha)",
        flags=("trafficking",),
    ),
)

# --- English building blocks (folded, NOT shorthand-expanded: "a" stays "a") ---------------

_EN_VERB = (
    r"(?:hit|hits|hitting|beat|beats|beating|punch(?:es|ed|ing)?|kick(?:s|ed|ing)?"
    r"|slap(?:s|ped|ping)?|chok(?:e|es|ed|ing)|strangl(?:e|es|ed|ing)|hurt(?:s|ing)?"
    r"|attack(?:s|ed|ing)?|stab(?:s|bed|bing)?|burn(?:s|ed|t|ing)?|push(?:es|ed|ing)?"
    r"|shov(?:e|es|ed|ing)|drag(?:s|ged|ging)?|threw|throw(?:s|ing)?|abus(?:e|es|ed|ing)"
    r"|assault(?:s|ed|ing)?|rap(?:e|es|ed|ing)|molest(?:s|ed|ing)?|grop(?:e|es|ed|ing)"
    r"|tortur(?:e|es|ed|ing)|threaten(?:s|ed|ing)?|lock(?:s|ed|ing)?|tie(?:s|d)?|tying"
    r"|smack(?:s|ed|ing)?|whip(?:s|ped|ping)?|bit|bites|bitten|starv(?:e|es|ed|ing))"
)
_EN_VICTIM = (
    r"(?:me|us|my|her|him|mom|mum|mother|sister|the kids?|the children|the baby|our|myself"
    r"|everyone|all of us)"
)

_EN_RULES: Final[tuple[_Rule, ...]] = (
    # "help" alone is the menu command; "help me find ..." is a question.
    _rule(
        "help_call",
        "always",
        r"help me(?! (?:find|with|understand|to|know|learn|get info|choose|fill|report|write"
        r"|please with|out with|read|translate|use|change|delete|erase|look|search|locate))",
        r"(?:please|pls|plz|someone|somebody|anyone|anybody|pleas|pleaz) help",
        r"help (?:please|pls|plz|now|quick|quickly|asap|us|her|him)",
        r"help help|save me|save us|sos|rescue me",
        r"call (?:the )?(?:police|cops|113|911|ambulance)(?! (?:number|is|what|for|when))",
        r"in danger|not safe|unsafe|life is in danger|fear for my life|scared for my life",
    ),
    _rule(
        "plea",
        "plea",
        r"(?:i|we) (?:really |urgently )?need help|emergency|urgent|(?:i|we) can t take it",
    ),
    _rule(
        "violence_now",
        "always",
        r"(?:he|she|they|husband|boyfriend|father|dad|stepfather|stepdad|partner|someone"
        r"|somebody|man|guy|brother|uncle|wife|mother|mom)(?: s| is| are| re| keeps?| kept"
        r"| still| always| just| now| tried| tries| trying| will| ll| wants to)+ (?:\w+ )?"
        r"(?:beating|hitting|hurting|attacking|choking|strangling|kicking|punching|stabbing"
        r"|threatening|following|chasing|raping|touching|coming (?:for|after|back|home|to get)"
        r"|outside|breaking|smashing|banging on|kill|beat|hit|hurt|rape|stab)",
    ),
    _rule(
        "violence_named",
        "personal",
        rf"{_EN_VERB} {_EN_VICTIM}",
        r"touch(?:es|ed|ing)? (?:me|my (?:daughter|son|child|kid|body|private|breast|chest)"
        r"|her (?:private|breast|body|chest)|him)",
        r"pull(?:s|ed|ing)? my hair",
        r"(?:i m|im|i am|i was|i ve been|i have been|i got|i get|been|being|was|were|get|gets"
        r"|getting|got|is|are) (?:\w+ ){0,2}(?:beaten|hit|raped|abused|assaulted|attacked"
        r"|molested|stabbed|strangled|choked|threatened|followed|stalked|hurt|kicked|punched"
        r"|slapped|tortured|burned|burnt|groped|forced|beat up)",
        # "abuse" as a bare noun is a topic ("report domestic abuse"), not a disclosure.
        r"abus(?:ed|ive|er|ing)|violent|beat(?:ing)?s? me|beaten",
    ),
    _rule(
        "threat",
        "always",
        r"(?:going to|gonna|will|ll|wants? to|threaten(?:s|ed|ing)? to|tried to|trying to"
        r"|try to|about to|said (?:he|she)(?: d| would| will)?|says (?:he|she)(?: ll| will)?)"
        r" (?:\w+ )?(?:kill|murder|hurt|beat|hit|rape|burn|stab|shoot|strangle|choke|drown"
        r"|take (?:my|the) (?:kids|children|baby|son|daughter))",
        r"kill (?:me|us|her|him|you|my|the (?:kids|children|baby)|everyone|all of us)",
        r"threat(?:en)?(?:s|ed|ing)?|death threats?",
    ),
    _rule(
        "weapon",
        "always",
        r"knife|knives|gun|guns|machete|axe|weapon|pistol|rifle|acid attack|pour(?:ed)? petrol",
    ),
    _rule(
        "confinement",
        "personal",
        r"lock(?:s|ed)? (?:me |us )?(?:in|up|inside)",
        r"(?:won t|wont|will not|doesn t|does not|don t|not) let (?:me|us) (?:leave|go|out"
        r"|see|call|eat)",
        r"trapped|imprisoned|held captive|can t leave|cannot leave|cant leave"
        r"|not allowed to (?:leave|go out)|took my (?:phone|passport|papers|id)",
    ),
    _rule(
        "sexual_abuse",
        "personal",
        r"rape|raped|raping|rapist|sexual(?:ly)? (?:abuse|abused|assault|assaulted|harass\w*)"
        r"|molest\w*|incest|forced (?:me )?(?:to have sex|into sex|sex)",
    ),
    _rule(
        "stalking",
        "personal",
        r"follow(?:s|ed|ing) me|stalk(?:s|ed|ing|er)?|watching my (?:house|home)"
        r"|outside my (?:house|door|home|room)",
    ),
    _rule(
        "fear",
        "always",
        r"(?:i m|im|i am|i feel|we are|we re|i was) (?:so |really |very |too |)(?:scared"
        r"|afraid|terrified|frightened|hiding)",
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
        r"bleed\w*|blood|unconscious|passed out|pass out|faint(?:ed|ing)?|knocked (?:me )?out"
        r"|broken (?:arm|leg|bone|nose|rib|ribs|jaw|wrist|finger|hand|tooth|teeth)|broke my"
        r"|can t breathe|cant breathe|cannot breathe|not breathing|stabbed|concussion"
        r"|ambulance|injur\w*|wound\w*|burned|burnt|fracture\w*|bruise\w*",
        flags=("injury",),
    ),
    _rule(
        "trafficking",
        "personal",
        r"traffick\w*|kidnap\w*|abduct\w*|forced (?:me )?(?:to )?marr\w*|forced marriage"
        r"|sold (?:me|her|us|my|to|into|as|across)|(?:was|were|been|being|got|get|am|m) sold"
        r"|(?:taken|took me|take me|sent) (?:across|over|to china|to the border)"
        r"|across the border|(?:took|taken|keeps?|kept) my passport",
        flags=("trafficking",),
    ),
)

# --- General questions (suppress `personal`/`plea` rules unless the asker is involved) -----

_VI_INFO = re.compile(
    r"\b(?:la gi|la sao|nghia la|co nghia|khai niem|dinh nghia|muc phat|xu phat|bi phat"
    r"|phat tien|phat tu|phat hanh chinh|phat (?:\S+ )?bao nhieu|phat the nao|phat nhu the nao"
    r"|bao nhieu nam|nam tu|di tu|ngoi tu|an tu|toi gi|toi danh|toi pham|pham toi|truy cuu"
    r"|hinh su|luat|nghi dinh|quy dinh|dieu \d+|khoan \d+|thong tu|phap luat|phap ly"
    r"|hanh vi nao|nhung hanh vi|cac hanh vi|hinh thuc|cac dang|bieu hien|dau hieu"
    r"|nguyen nhan|hau qua|tac hai|thong ke|so lieu|ty le|tuyen truyen|phong chong|phong ngua"
    r"|thang hanh dong|chien dich|bai thi|cuoc thi|tai lieu|bao cao|co phai (?:la )?bao"
    r"|co bi coi la|co duoc coi la|co tinh la|co phai la|duoc xem la|bi xu ly|boi thuong"
    r"|quyen loi|quyen gi|co quyen|nan (?:mua ban|buon ban|bao luc)|van nan|tinh trang"
    r"|tinh hinh)\b"
)
_EN_INFO = re.compile(
    r"\b(?:what is|what s|whats|what are|what does|what counts|meaning of|define|definition"
    r"|penalt\w*|fine for|fines|punish\w*|sentence for|law|laws|legal|illegal|crime"
    r"|statistics|campaign|survey|report on|signs of|types of|forms of|a form of"
    r"|examples? of|research|article|essay|homework|prevention|prevent|counts? as|is it|is this"
    r"|does it count)\b"
)
# First-person involvement. Phrases that only ask ("cho tôi hỏi", "em muốn biết",
# "I want to know") and words that merely contain a pronoun (trẻ em, chị em, tội) are removed
# first.
_VI_ASKING = re.compile(
    r"\b(?:(?:cho |xin cho )?(?:toi|em|minh|tui|chau|con)(?: \S+){0,2} (?:hoi|biet|tim hieu"
    r"|tham khao|tra cuu|doc|xin thong tin|can thong tin|thac mac)"
    r"|cho (?:toi|em|minh|tui|chau|con)"
    r"|(?:toi|em|minh|tui) (?:la|dang la|lam) (?:can bo|sinh vien|hoc sinh|giao vien|nha bao"
    r"|phong vien|cong an|canh sat|tuyen truyen vien|hoi vien|chu tich)"
    r"|tre em|chi em|anh em|em be|toi pham|pham toi|toi danh|toi gi|co toi|toi ac|buoi toi"
    r"|toi nay|toi qua|toi mai|toi (?=(?:hiep|cuong|giet nguoi|mua ban|buon ban|xam hai|dam o"
    r"|loan luan|hanh ha|nguoc dai|co y|bao luc|xuc pham|lang ma|bat coc)))\b"
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
    r"|chong|vo|chung)|em be|be (?:gai|trai|con|nha|nho|bi|dang)|con be|thang be|chau (?:toi"
    r"|em|minh|tui|gai|trai|be|nho|ngoai|noi)|tre (?:em|con|nho|so sinh|vi thanh nien)"
    r"|dua (?:tre|nho|be|con)|hoc sinh|vi thanh nien|bo duong|cha duong|bo ke|me ke|di ghe"
    r"|loan luan|tao hon|(?:[1-9]|1[0-7]) tuoi|(?:danh|dap|tat|hiep|xam hai|bao hanh"
    r"|nguoc dai|hanh ha|so soang) (?:con|be|chau)|(?:^|\bbi )(?:be|con|chau)(?: \S+)? bi)\b"
)
_EN_CHILD = re.compile(
    r"\b(?:child|children|kid|kids|son|daughter|baby|babies|stepdaughter|stepson|stepfather"
    r"|stepdad|toddler|niece|nephew|little (?:girl|boy|sister|brother)|my (?:boy|girl)"
    r"|teenager|minor|underage|schoolgirl|schoolboy|(?:[1-9]|1[0-7]) ?(?:years? old|yo"
    r"|yrs? old))\b"
)

# Stretched letters in chat ("cuuuu", "emmm", "đánhhh"). Folded Vietnamese has no doubled
# letters except "uu" (cứu, ưu), so other runs shrink to one letter; English keeps doubles.
_VI_STRETCH = re.compile(r"([a-tv-z])\1+")
_U_STRETCH = re.compile(r"u{3,}")
_EN_STRETCH = re.compile(r"([a-z])\1{2,}")

_SAFE: Final = Assessment(emergency=False)


def _scan(rules: tuple[_Rule, ...], text: str) -> list[_Rule]:
    return [rule for rule in rules if rule.pattern.search(text)]


def _assess(text: str) -> Assessment:
    raw = normalize(text, expand=False)
    if not raw:
        return _SAFE
    vi = normalize(_U_STRETCH.sub("uu", _VI_STRETCH.sub(r"\1", raw)))
    en = _EN_STRETCH.sub(r"\1", raw)
    hits = _scan(_VI_RULES, vi) + _scan(_EN_RULES, en)
    if not hits:
        return _SAFE
    info = bool(_VI_INFO.search(vi) or _EN_INFO.search(en))
    # First person is judged per language: "me" is English "me" but Vietnamese "mẹ" (mother).
    personal_vi = bool(_VI_PERSONAL.search(_VI_ASKING.sub(" ", vi)))
    personal_en = bool(_EN_PERSONAL.search(_EN_ASKING.sub(" ", en)))
    emergency = any(
        rule.strength == "always"
        or (
            rule.strength == "personal"
            and (not info or (personal_en if rule in _EN_RULES else personal_vi))
        )
        or (rule.strength == "plea" and not info)
        for rule in hits
    )
    names = tuple(dict.fromkeys(rule.name for rule in hits))
    if not emergency:
        # Kept for debugging: what matched, and why it did not count.
        return Assessment(emergency=False, reasons=(*names, "general_question"))
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
