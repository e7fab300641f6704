"""Vietnamese emergency lexicon: rules on folded text with chat shorthand expanded.

The check runs word-sequence patterns over `bot.text.normalize`d text (no diacritics,
shorthand expanded), so "Chồng đang đánh em", "chong dang danh em" and "ck đg đánh e" meet
the same rules. Deliberate over-triggering (recall first) is noted next to each rule.
"""

from __future__ import annotations

import re
from typing import Final

from bot.core.safety.rules import Lexicon, Rule, rule, words
from bot.text import normalize

# --- Vietnamese building blocks (folded, shorthand expanded: ck→chong, e→em, t→toi, ...) ----

_ME = r"(?:toi|em|minh|tui|tao|chau|con|me con|chung toi|chung em|bon em)"
# "đánh" folds to "danh", which also starts many unrelated words: danh sách (list), danh bạ
# (contacts), đánh giá (evaluate), dành cho (for), danh dự (honour), đánh bài (cards),
# dành dụm (save money)... Those compounds are excluded; "dành cho" only when it is not
# "đánh cho (một trận|chết)". "uýnh" is chat slang for "đánh".
_DANH = (
    r"(?:danh|dahn|dnah|uynh)(?! (?:sach|gia|muc|hieu|tinh|thiep|nghia|rang|bai|co|thuc|may"
    r"|so (?:trang|thu tu|nha|phong|ghe|ban|cau|muc|dong|cot|hang|lai|tu dong|ho so|bao danh"
    r"|\d)|tieng|nhan|vong|lua|bac|golf|chu|du|phan|xung|thang|lam|thue|van|bong|dan|hoi|giac"
    # Badminton, billiards, lipstick, the lottery, stealing, swapping, betting, shoe-shining,
    # marking ("đánh dấu vào"), losing ("đánh mất điện thoại"). Not "đánh rồi" / "đánh trúng".
    r"|cau long|tennis|ten nit|bi a|bida|son|lo de|lo to|cap|trao|bat ca|cuoc|giay"
    r"|dau (?:vao|x|tich|trang|cau|o|muc|sach|bai)"
    r"|mat (?:dien thoai|tien|vi|giay|niem tin|chia khoa|xe|the)"
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
    r"|tiep|nhu|thu|lanh|tren|truoc|sau|bi|tay|dua|ten|hai|cung|den|ve|ra|tao|van|la|re)"
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

_VI_RULES: Final[tuple[Rule, ...]] = (
    # Calls for help. "cứu" folds to "cuu" like cựu (former), cừu (sheep), nghiên cứu
    # (research), tra cứu (look up), cứu trợ (relief): require a person or "với" after it, or
    # "cứu" standing at the start/end of the message.
    rule(
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
    rule("danger", "personal", r"nguy hiem (?:qua|lam|den tinh mang)|nguy (?:den )?tinh mang"),
    # Vague pleas: also written by people with a general question, so a general question
    # wins. "làm ơn giúp tôi tìm ..." still triggers (accepted).
    rule(
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
    rule(
        "violence_now",
        "always",
        rf"{_NOW} {_GAP3}{_VERB}",
        rf"(?:dang|dag|dg|vua|moi|lai) (?:{_GAPW} )?bi {_GAP3}(?:{_VERB}|{_PASSIVE_ONLY})",
    ),
    # Disclosures: "tôi bị chồng đánh", "bị bạo hành", "vợ bị chồng đánh suốt".
    rule(
        "violence_disclosed", "personal", rf"{_NOT_GENERIC}bi {_GAP4}(?:{_VERB}|{_PASSIVE_ONLY})"
    ),
    # Abuse as a topic: "xâm hại trẻ em", "nếu bị bạo lực", "đánh đập", "sàm sỡ".
    rule(
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
    rule(
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
    rule(
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
    rule(
        "weapon",
        "always",
        r"(?:cam|vac|rut|cam theo|giau|lay|mang|chia|ke|vung|khua|dung|gio)"
        r" (?:con |cai |cay |khau |mot |1 |ca )?(?:dao|riu|bua|sung|kiem|mac|liem|xa beng"
        r"|thanh sat|gay (?:go|sat|to)|gay(?= (?:danh|dap|doa|duoi|dam|vut|phang|nem|chi)\b|$))",
        r"dao (?:ke|de|dam) (?:vao )?(?:co|bung|nguoi)",
    ),
    # Locked up, not let out: "em bị nhốt trong nhà", "không cho em ra khỏi nhà".
    # "trời" (sky), "giảm" (reduce) and "xích lại gần" fold like trói / giam / xích.
    rule(
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
    rule(
        "sexual_abuse",
        "personal",
        rf"(?:hiep|hjep) (?:{_ME}|be|con gai|chi)",
        # The word alone is a disclosure ("hiếp dâm", "cưỡng hiếp", "bị hiếp rồi"); with a
        # question word ("hiếp dâm là gì", "... bị phạt") it is information.
        rf"^(?:{_ME} )?(?:(?:da|vua|moi|bi|lai|cung) )*(?:hiep dam|cuong hiep|cuong buc"
        r"|cuong dam|hiep|hjep|xam hai(?: tinh duc)?)(?: (?:roi|luon|that|nua|em|toi))*$",
        r"so (?:nguc|vu|vung kin|cho kin|vao (?:nguoi|nguc|vung|cho|bo phan|dui|mong)|bo phan"
        r"|mong|dui)",
        r"(?:ep|bat(?! dau)|cuong ep) (?:\S+ ){0,2}(?:quan he|ngu voi|lam tinh|lam chuyen"
        r"|(?:xem|coi) phim (?:sex|nguoi lon|khieu dam|heo)|cho so)",
        # A (step)father coming into a child's room at night: a common way abuse is told.
        rf"vao (?:phong|giuong|cho ngu) (?:cua )?{_ME} (?:\S+ )?(?:ban dem|luc dem|dem|khi ngu)",
    ),
    # Followed / watched: "bị theo dõi", "nó cứ bám theo em".
    rule(
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
    rule(
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
    rule(
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
    rule(
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
        r"|bong (?:nang|het|tay|mat|lua|nuoc soi)|bi bong|bi thuong|vet thuong"
        r"|chan thuong|rach da|(?<!bat )(?<!o )(?<!den )(?<!tu )dau (?:qua|wa|chet)(?! trinh\b)",
        # "số / tổng đài cấp cứu" names the ambulance number.
        r"(?<!so )(?<!dai )cap cuu|nhap vien|phai (?:di |vao )?vien"
        r"|dua (?:\S+ ){0,2}(?:vao |di )(?:vien|benh vien|cap cuu)",
        r"khong tho (?:duoc|noi)|kho tho|ngat tho|nghet tho",
        flags=("injury",),
    ),
    # "gây thương tích" (causing injury) is also the law's wording: "đánh người gây thương tích
    # bị phạt thế nào" is a question.
    rule("injury_named", "personal", r"thuong tich", flags=("injury",)),
    # Trafficking and forced marriage. "bán" (sell) folds like "bạn" (friend: "bạn tôi lấy
    # chồng", "bán hàng sang TQ" in a border province), so selling needs "bị", an intent, or
    # a person sold across the border.
    rule(
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
    rule(
        "trafficking_named",
        "mention",
        r"(?:mua ban|buon ban|buon) (?:nguoi|phu nu|tre em|co dau|con gai|noi tang)",
        r"bat coc|vuot bien|(?:ep|cuong ep|bat) (?:lay chong|ket hon|cuoi)|ga ban",
        rf"{_GENERIC} bi {_GAP3}ban(?= (?:sang|qua|di|cho|ve|lam|vao|roi)\b|$)",
        flags=("trafficking",),
    ),
)


# --- General questions (suppress `personal`/`plea` rules unless the writer is involved) ---

_VI_INFO = re.compile(
    r"\b(?:la gi|la sao|nghia la|co nghia|khai niem|dinh nghia|muc phat|xu phat|bi phat"
    r"|phat tien|phat tu|phat hanh chinh|phat (?:\S+ )?bao nhieu|phat the nao|phat nhu the nao"
    r"|bao nhieu nam|nam tu|di tu|ngoi tu|an tu|toi gi|toi pham|pham toi|truy cuu"
    # "tội danh" (the charge), not "tôi đánh vợ" (I hit my wife).
    r"|toi danh(?! (?:vo|chong|con|be|chau|nguoi yeu|ny|ban gai|no|nhau|me|bo))"
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

_VI_ASKING = re.compile(
    r"\b(?:(?:cho |xin cho )?(?:toi|em|minh|tui|chau|con)(?: \S+){0,2} (?:hoi|biet|tim hieu"
    r"|tham khao|tra cuu|doc|xin thong tin|can thong tin|thac mac)"
    r"|cho (?:toi|em|minh|tui|chau|con)"
    r"|(?:toi|em|minh|tui) (?:la|dang la|lam) (?:can bo|sinh vien|hoc sinh|giao vien|nha bao"
    r"|phong vien|cong an|canh sat|tuyen truyen vien|hoi vien|chu tich)"
    r"|tre em|chi em|anh em|em be|toi pham|pham toi|toi gi|co toi|toi ac|buoi toi"
    r"|toi danh(?! (?:vo|chong|con|be|chau|nguoi yeu|ny|ban gai|no|nhau|me|bo))"
    r"|toi nay|toi qua|toi mai|toi (?=(?:hiep|cuong|giet nguoi|mua ban|buon ban|xam hai"
    r"|loan luan|hanh ha|nguoc dai|co y|bao luc|xuc pham|lang ma|bat coc))"
    # "xã tôi" (my commune), "bản em" (my village): an officer speaking for a place.
    r"|(?:xa|thon|ban|lang|xom|phuong|dia phuong|co quan|don vi|hoi|truong) (?:toi|em|minh"
    r"|chung toi))\b"
)
_VI_PERSONAL = re.compile(r"\b(?:toi|em|minh|tui|tao|chau|chung toi|chung em|bon em)\b")

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

# Stretched letters in chat ("cuuuu", "emmm", "đánhhh"). Folded Vietnamese has no doubled
# letters except "uu" (cứu, ưu), so other runs shrink to one letter; English keeps doubles.
_VI_STRETCH = re.compile(r"([a-tv-z])\1+")
_U_STRETCH = re.compile(r"u{3,}")


# --- Situation (set only on an emergency) -------------------------------------------------

# The writer as the subject of a clause: at its start, or after a conjunction or a time.
_SUBJECT = (
    r"(?:^|\b(?:va|ma|thi|nhung|roi|nen|vi|khi|la|luc|gio|nay|qua|that ra|thuc ra|hom qua"
    r"|hom nay|toi qua|dem qua) )"
)
# People other than the writer: a neighbour, a friend, a sister, "my mother", a woman.
# "chị em" (my sister / women) and "mẹ em" (my mother) name someone else.
_OTHER = (
    r"(?:hang xom|nha ben canh|nha ben|ben canh nha|ban (?:em|toi|minh|tui|than|gai|cung lop"
    r"|cua (?:em|toi|minh))|chi (?:gai )?(?:em|toi|minh|tui|cua em)|em gai (?:em|toi|minh|tui)"
    r"|em (?:ho|ban)|me (?:em|toi|minh|tui|chau)|chi ay|co ay|ba ay|co be|dua be|mot (?:nguoi"
    r"|phu nu|chi|co|ba|em be|chau be|dua tre|be|co gai|ban)|nguoi (?:phu nu|hang xom|quen)"
    r"|dong nghiep|hoc sinh (?:cua )?(?:toi|em|minh)|hoc tro|chi dau|em dau|co giao"
    r"|vo (?:anh|ong|chu|bac) (?:ay|hang xom|kia)|con (?:nha|ong|ba|chi|co|anh) (?:hang xom"
    r"|ben canh|ay)"
    # The writer's child or grandchild: a parent telling what happened to them.
    r"|con (?:gai |trai )?(?:toi|em|minh|tui|cua (?:toi|em|minh))|be nha (?:em|toi|minh)"
    r"|chau (?:gai |trai )?(?:toi|cua (?:toi|em)))"
)
_WITNESS_AGENT = (
    r"(?:hang xom|nha ben canh|ben canh nha|chong (?:chi|co|ba|cua) (?:ay|hang xom|kia|do|ban)"
    r"|chong cua (?:chi|co|ban) (?:em|toi|minh|ay)|bo (?:ban|cua ban) (?:em|toi|minh))"
)
_BYSTANDER: Final = words(
    # "I saw / heard the neighbour beating his wife", "nghe tiếng kêu cứu nhà bên".
    # "thấy" folds like "thầy" (teacher), and "thay đổi / thay vì / thay mặt" say nothing seen.
    rf"(?:thay(?! (?:giao|co|day|hieu truong|thuoc|boi|cung|doi|the|vi|mat|ao|ro|cho)\b)|nghe"
    rf"|chung kien|bat gap|nhin) (?:\S+ ){{0,5}}?(?:{_VERB}|bi|keu cuu"
    r"|tieng (?:khoc|het|la|dap|danh))",
    rf"{_OTHER} (?:\S+ ){{0,3}}?bi",
    rf"{_WITNESS_AGENT} (?:\S+ ){{0,3}}?{_VERB}",
    rf"{_VERB} {_OTHER}",
    rf"{_VERB} (?:vo|con|chau|be) (?:ho|no|han|anh ay|ong ay|hang xom|nha ben)",
)
_OWN_HARM: Final = words(
    # "em bị", "tôi vừa bị", but not "con tôi bị" / "em gái tôi bị" (someone of mine).
    rf"{_SUBJECT}{_ME}(?! (?:toi|em|minh|tui|tao|gai|trai|cua|nha)\b) (?:\S+ ){{0,3}}?bi",
    # "mẹ con em bị ..." is the writer and her child.
    rf"{_SUBJECT}(?:hai )?me con (?:toi|em|minh|tui|chau) (?:\S+ ){{0,3}}?bi",
    r"^(?:(?:dang|vua|moi|lai|cu|hay|cung) )*bi",
    rf"{_VERB} (?:ca )?(?:toi|em|minh|tui|tao|me con|hai me con|ca nha|chung toi|chung em"
    r"|bon em)",
)
# The writer hurts someone: "tôi đánh vợ", "em lỡ tay tát con", "bỏ tật đánh vợ".
_HURTS = r"(?:danh(?: dap| chui)?|dap|tat|bao hanh|hanh ha|nguoc dai|hanh hung|bop co|doa|de doa)"
_HURT = (
    r"(?:vo|chong|con|be|chau|nguoi yeu|ny|ban gai|ban trai|co ay|anh ay|me|bo|ba|ong"
    r"|nguoi nha|nguoi khac|no|ca nha)"
)
_ABUSER: Final = words(
    rf"{_SUBJECT}(?:toi|minh|tui|tao|em)(?: (?:da|hay|thuong|thuong xuyen|cu|lai|van|lo|lo tay"
    r"|tung|co|nhieu lan|khong kiem che duoc|khong kiem soat duoc|nong|nong tinh|nong gian"
    r"|gian|gian qua|tuc|tuc qua|say|say ruou|uong ruou|khi say|roi|len|ma|dang|vua|moi"
    rf"|trot|nhieu khi|doi khi|thinh thoang|luon)){{0,4}} {_HURTS} {_HURT}",
    # Wanting to stop: "bỏ tật đánh vợ", "cai thói bạo hành", "làm sao để không đánh con nữa".
    # Not "bố đánh con" (bố folds like bỏ) nor "có thói đánh vợ" (someone else's habit).
    rf"(?:bo|cai|sua|tu bo|bo duoc|ngung|dung lai|kiem che|het) (?:han |duoc )?(?:tat|thoi"
    rf"|thoi quen|viec|hanh vi|tinh) (?:{_HURTS}|bao luc|nong gian)",
    rf"(?:ngung|cai|tu bo|kiem che de khong) {_HURTS} {_HURT}",
    rf"lam (?:sao|the nao|cach nao) (?:de )?(?:khong|thoi|ngung|bot|het|dung) {_HURTS} {_HURT}",
    r"(?:toi|minh|tui|em) (?:la )?(?:nguoi|ke) gay (?:ra )?bao luc|(?:toi|minh|tui) gay bao luc",
)
_SEXUAL_ASSAULT: Final = words(
    # Not "hiệp hội" (association), "hiệp định" (treaty), "hiệp sĩ" (knight).
    r"hiep(?! (?:hoi|dinh|si|uoc|luc|tac|thuong)\b)|hjep|hiep dam|cuong hiep|cuong buc"
    r"|cuong dam|loan luan|xam hai(?! (?:quyen|tai san|danh du|suc khoe|nhan pham|loi ich)\b)",
    r"(?:ep|bat(?! dau)|cuong ep) (?:\S+ ){0,2}(?:quan he|lam tinh|ngu voi|lam chuyen)",
)
# A child named by kinship, age or school grade: "em học lớp 8", "con 10 tuổi", "cháu bị
# dượng sờ mó", "bé bị bố đánh". Hit by a parent or step-parent suggests a child as well: 111
# also answers about a child who sees violence at home.
_CHILD_MORE: Final = words(
    r"hoc lop|lop (?:[1-9]|1[0-2]|mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi|muoi mot|muoi hai)"
    r"|mau giao|mam non|tieu hoc|trung hoc co so|thcs|cap (?:1|2|mot|hai)",
    r"bi (?:duong|bo|cha|bo duong|cha duong|me ke|di ghe) (?:\S+ )?(?:danh|dap|tat|so|hiep"
    r"|xam hai|bao hanh|chui|nhot|doa)",
    r"duong (?:hay |cu |dang |lai )?(?:so|danh|hiep|xam hai|dap|sam so)",
)


def _prepare(raw: str) -> str:
    return normalize(_U_STRETCH.sub("uu", _VI_STRETCH.sub(r"\1", raw)))


LEXICON: Final = Lexicon(
    name="vi",
    prepare=_prepare,
    rules=_VI_RULES,
    info=_VI_INFO,
    asking=_VI_ASKING,
    personal=_VI_PERSONAL,
    child=re.compile(f"{_VI_CHILD.pattern}|{_CHILD_MORE.pattern}"),
    bystander=_BYSTANDER,
    own_harm=_OWN_HARM,
    abuser=_ABUSER,
    sexual_assault=_SEXUAL_ASSAULT,
)
