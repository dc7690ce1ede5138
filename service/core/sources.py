"""The sources of the clinical contract (clinical-spec.md §9), written out in full (§6.2, E4-20).

Each :class:`Source` has the id the spec uses ("S42", "seed 001"), the evidence tag the spec
gives it ([V] verified in the source, [M] unverified; §0 "never upgrade a tag silently") and one
or more :class:`Reference` entries. A DOI, PMID or URL is given only where it was confirmed
against a public record of the publication; none is guessed. Fields the spec does not give and
that could not be confirmed are left empty.

The rules page (``GET /rules``) renders these; a recommendation's ``sources`` name them by id;
:attr:`Source.citation` is the one-line form for ``PlanDefinition.relatedArtifact.citation``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Reference:
    """One publication or web page. ``where`` is the journal (or publisher / website)."""

    authors: str
    title: str
    where: str = ""
    year: str = ""
    volume_pages: str = ""
    doi: str = ""
    pmid: str = ""
    url: str = ""

    @property
    def link(self) -> str:
        """The best address to open it: the DOI resolver, else the URL, else PubMed."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.url:
            return self.url
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        return ""

    @property
    def text(self) -> str:
        """Vancouver-like: authors. title. journal year;volume:pages. (no identifier)"""
        parts = [p for p in (self.authors, self.title) if p]
        text = ". ".join(p.rstrip(".") for p in parts) + "." if parts else ""
        where = self.where
        if self.year:
            where = f"{where} {self.year}".strip()
        if self.volume_pages:
            where = f"{where};{self.volume_pages}" if where else self.volume_pages
        if where:
            text += f" {where}."
        return text.strip()

    @property
    def citation(self) -> str:
        """:attr:`text` and the DOI (else PMID, else URL): one line for a citation."""
        text = self.text
        if self.doi:
            text += f" doi:{self.doi}"
        elif self.pmid:
            text += f" PMID {self.pmid}"
        elif self.url:
            text += f" {self.url}"
        return text.strip()


@dataclass(frozen=True, slots=True)
class Source:
    """A §9 source: ``id`` as the spec writes it, ``tag`` the spec's evidence tag(s)."""

    id: str
    tag: str
    references: tuple[Reference, ...]
    note: str = ""
    label: str = ""  # how a reader names it, when the id is not a number ("S42")

    @property
    def name(self) -> str:
        """The short name shown where the source is cited: ``label``, else the id."""
        return self.label or self.id

    @property
    def anchor(self) -> str:
        """The rules-page anchor: "S42" -> "s42", "seed 001" -> "seed-001"."""
        return source_anchor(self.id)

    @property
    def citation(self) -> str:
        """All references in one line, for ``relatedArtifact.citation``."""
        return f"[{self.id}] " + " ; ".join(r.citation for r in self.references)


def source_anchor(source_id: str) -> str:
    """The rules-page anchor of a source id: lower case, runs of other characters as ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", source_id.lower()).strip("-")


_R = Reference

_ALL: tuple[Source, ...] = (
    Source(
        "Offierski-MacNab-1983",
        "V",
        (
            _R(
                "Offierski CM, MacNab I",
                "Hip-spine syndrome",
                "Spine",
                "1983",
                "8(3):316-321",
                doi="10.1097/00007632-198304000-00014",
            ),
        ),
        "The origin of the categories simple, complex, secondary and misdiagnosed (§4).",
        label="Offierski & MacNab 1983",
    ),
    Source(
        "S1",
        "V",
        (_R("MedPage Today", "Hip and Spine: Connected", "MedPage Today (web page)"),),
    ),
    Source(
        "S2",
        "V",
        (_R("Radiopaedia", "Hip spine syndrome", "Radiopaedia.org (reference article)"),),
    ),
    Source(
        "S3",
        "V",
        (
            _R(
                "UPMC",
                "Hip-Spine Syndrome",
                "UPMC Physician Resources (web page)",
                url="https://upmcphysicianresources.com/news/021120-hip-spine-syndrome",
            ),
        ),
    ),
    Source(
        "S4",
        "V",
        (
            _R(
                "OrthoNeuro",
                "Hip-Spine Syndrome",
                "OrthoNeuro (web page)",
                url="https://orthoneuro.com/hip-spine-syndrome/",
            ),
        ),
    ),
    Source(
        "S6",
        "V",
        (
            _R(
                "Diebo BG, Day LM, Lafage R, Passias PG, Paulino CB, Naziri Q, Mont MA, "
                "Errico TJ, Schwab FJ, Lafage V",
                "Radiographic categorization of the hip-spine syndrome in the setting of hip "
                "osteoarthritis and sagittal spinal malalignment",
                "J Am Acad Orthop Surg",
                "2019",
                "27(17):659-666",
                pmid="31442211",
            ),
        ),
    ),
    Source(
        "S8",
        "V",
        (
            _R(
                "Terran J, Schwab F, Shaffrey CI, Smith JS, Devos P, Ames CP, et al.",
                "The SRS-Schwab adult spinal deformity classification: assessment and clinical "
                "correlations based on a prospective operative and nonoperative cohort",
                "Neurosurgery",
                "2013",
                "73(4):559-568",
                doi="10.1227/NEU.0000000000000012",
            ),
        ),
    ),
    Source(
        "S9",
        "V",
        (
            _R(
                "Vigdorchik JM, et al.",
                "2021 Otto Aufranc Award: A simple Hip-Spine Classification for total hip "
                "arthroplasty: validation and a large multicentre series",
                "Bone Joint J",
                "2021",
                "103-B(7)",
                doi="10.1302/0301-620X.103B7.BJJ-2020-2448.R2",
                pmid="34192913",
            ),
        ),
    ),
    Source(
        "S10",
        "V",
        (
            _R(
                "Luthringer TA, Vigdorchik JM",
                'A preoperative workup of a "hip-spine" total hip arthroplasty patient: '
                "a simplified approach to a complex problem",
                "J Arthroplasty",
                "2019",
            ),
        ),
    ),
    Source(
        "S16",
        "V",
        (
            _R(
                "Altman R, Alarcón G, Appelrouth D, Bloch D, Borenstein D, Brandt K, et al.",
                "The American College of Rheumatology criteria for the classification and "
                "reporting of osteoarthritis of the hip",
                "Arthritis Rheum",
                "1991",
                "34(5):505-514",
                doi="10.1002/art.1780340502",
                pmid="2025304",
            ),
        ),
    ),
    Source(
        "S17",
        "V",
        (
            _R(
                "Sutlive TG, Lopez HP, Schnitker DE, Yawn SE, Halle RJ, Mansfield LT, "
                "Boyles RE, Childs JD",
                "Development of a clinical prediction rule for diagnosing hip osteoarthritis "
                "in individuals with unilateral hip pain",
                "J Orthop Sports Phys Ther",
                "2008",
                "38(9):542-550",
            ),
        ),
    ),
    Source(
        "S18",
        "V",
        (
            _R(
                "Prather H, Cheng A, Steger-May K, Maheshwari V, Van Dillen L",
                "Hip and lumbar spine physical examination findings in people presenting with "
                "low back pain, with or without lower extremity pain",
                "J Orthop Sports Phys Ther",
                "2017",
                "47(3):163-172",
                doi="10.2519/jospt.2017.6567",
                pmid="28158964",
            ),
        ),
    ),
    Source(
        "S19",
        "V",
        (
            _R(
                "Roach SM, San Juan JG, Suprak DN, Lyda M, Bies AJ, Boydston CR",
                "Passive hip range of motion is reduced in active subjects with chronic low back "
                "pain compared to controls",
                "Int J Sports Phys Ther",
                "2015",
                "10(1):13-20",
                pmid="25709858",
                url="https://pmc.ncbi.nlm.nih.gov/articles/PMC4325283",
            ),
        ),
    ),
    Source(
        "S22",
        "V",
        (_R("MSK Medicine", "FABER test; Thomas test", "MSK Medicine (web pages)"),),
    ),
    Source(
        "S23",
        "V",
        (
            _R("FPnotebook", "Straight leg raise", "FPnotebook (web page)"),
            _R("Pesonen J, et al.", "", "BMC Musculoskelet Disord", "2021"),
        ),
        "Checked for the fourth edition: an SLR is positive when it evokes radiating pain "
        "below the knee between 30 and 70° of hip flexion, as restated by Pesonen et al. 2021.",
    ),
    Source(
        "S24",
        "V",
        (
            _R("StatPearls", "Sacroiliac joint dysfunction", "StatPearls (NCBI Bookshelf)"),
            _R("StatPearls", "Facet joint syndrome", "StatPearls (NCBI Bookshelf)"),
        ),
    ),
    Source(
        "S25",
        "V",
        (
            _R(
                "Ostelo RW, Deyo RA, Stratford P, Waddell G, Croft P, Von Korff M, Bouter LM, "
                "de Vet HC",
                "Interpreting change scores for pain and functional status in low back pain: "
                "towards international consensus regarding minimal important change",
                "Spine",
                "2008",
                "33(1):90-94",
            ),
        ),
        "Minimal important change: NRS 2 points, ODI 10 points, or 30 % from baseline.",
    ),
    Source(
        "S28",
        "V",
        (
            _R(
                "Crawford RW, et al.",
                "Diagnostic value of intra-articular anaesthetic in primary osteoarthritis of "
                "the hip",
                "J Bone Joint Surg Br",
                "1998",
                url="https://boneandjoint.org.uk/Article/10.1302/0301-620X.80B2.0800279",
            ),
        ),
    ),
    Source(
        "S29",
        "V",
        (
            _R(
                "Pateder DB, Hungerford MW",
                "Use of fluoroscopically guided intra-articular hip injection in "
                "differentiating the pain source in concomitant hip and lumbar spine arthritis",
                "Am J Orthop",
                "2007",
            ),
        ),
    ),
    Source(
        "S30",
        "V",
        (
            _R(
                "Maldonado DR, Mu BH, Ornelas J, Chen SL, Lall AC, Walker-Santiago R, "
                "Rosinsky PJ, Shapira J, Domb BG",
                "Hip-spine syndrome: the diagnostic utility of guided intra-articular hip "
                "injections",
                "Orthopedics",
                "2020",
                "43(2):e65-e71",
                doi="10.3928/01477447-20191223-05",
            ),
        ),
    ),
    Source("S31", "V", (_R("Krych AJ, et al.", "", "Mayo Clinic"),)),
    Source(
        "S32",
        "V",
        (
            _R(
                "Yoong P, Guirguis R, Darrah R, Wijeratna M, Porteous MJ",
                "Evaluation of ultrasound-guided diagnostic local anaesthetic hip joint "
                "injection for osteoarthritis",
                "Skeletal Radiol",
                "2012",
                "41(8):981-985",
                doi="10.1007/s00256-011-1290-4",
            ),
        ),
    ),
    Source("S33", "V", (_R("", "", "BMC Musculoskelet Disord", "2022"),)),
    Source(
        "S38",
        "M",
        (),
        "Cited in §5.1 (a negative hip injection can be falsely negative after failed spine "
        "surgery) but not written out in §9 of the fourth edition.",
    ),
    Source(
        "S40",
        "V",
        (
            _R(
                "López PD, Iglesias SL, Nally FJ, Allende BL",
                "Which should be operated on first: the spine or the hip? A survey-based study "
                "on treatment order in patients with concurrent degenerative disorders of the "
                "hip and spine",
                "Rev Asoc Argent Ortop Traumatol",
                url="https://raaot.org.ar/index.php/AAOTMAG/article/download/2028/6217?inline=1",
            ),
        ),
    ),
    Source(
        "S41",
        "M",
        (
            _R(
                "Grimaldi A, Mellor R, Nicolson P, Hodges P, Bennell K, Vicenzino B",
                "Utility of clinical tests to diagnose MRI-confirmed gluteal tendinopathy in "
                "patients presenting with lateral hip pain",
                "Br J Sports Med",
                "2017",
                "51(6):519-524",
            ),
        ),
    ),
    Source(
        "S42",
        "V",
        (
            _R(
                "Bade M, Cobo-Estevez M, Neeley D, Pandya J, Gunderson T, Cook C",
                "Effects of manual therapy and exercise targeting the hips in patients with "
                "low-back pain: a randomized controlled trial",
                "J Eval Clin Pract",
                "2017",
                "23(4):734-740",
                doi="10.1111/jep.12705",
            ),
        ),
        "Checked for the fourth edition: three gluteal exercises and three hip mobilisation "
        "techniques added to guideline lumbar care gave small-to-medium effects on ODI, NRS and "
        "global change.",
    ),
    Source(
        "S43",
        "M",
        (
            _R(
                "Chou R, Qaseem A, Owens DK, Shekelle P",
                "Diagnostic imaging for low back pain: advice for high-value health care from "
                "the American College of Physicians",
                "Ann Intern Med",
                "2011",
                "154(3):181-189",
                doi="10.7326/0003-4819-154-3-201102010-00008",
                pmid="21282698",
            ),
            _R(
                "American College of Radiology",
                "ACR Appropriateness Criteria: Low Back Pain",
                "American College of Radiology",
            ),
        ),
    ),
    Source(
        "S44",
        "V (fracture imaging, NICE CG124 1.1.1); M (aspiration)",
        (
            _R(
                "National Institute for Health and Care Excellence",
                "Hip fracture: management (CG124), imaging of suspected occult fracture",
                "NICE clinical guideline",
                "2011",
                url="https://www.nice.org.uk/guidance/cg124",
            ),
            _R(
                "Coakley G, Mathews C, Field M, Jones A, Kingsley G, Walker D, Phillips M, "
                "Bradish C, McLachlan A, Mohammed R, Weston V",
                "BSR & BHPR, BOA, RCGP and BSAC guidelines for management of the hot swollen "
                "joint in adults",
                "Rheumatology (Oxford)",
                "2006",
            ),
        ),
        'Checked for the fourth edition: NICE CG124 1.1.1 "Offer MRI if hip fracture is '
        'suspected despite negative X-rays of the hip of an adequate standard".',
    ),
    Source(
        "S45",
        "M",
        (
            _R(
                "Mellor R, Bennell K, Grimaldi A, Nicolson P, Kasza J, Hodges P, "
                "Wajswelner H, Vicenzino B",
                "Education plus exercise versus corticosteroid injection use versus a wait and "
                "see approach on global outcome and pain from gluteal tendinopathy: "
                "prospective, single blinded, randomised clinical trial (LEAP)",
                "BMJ",
                "2018",
                "361:k1662",
                doi="10.1136/bmj.k1662",
            ),
        ),
    ),
    Source(
        "S46",
        "M",
        (
            _R(
                "National Institute for Health and Care Excellence",
                "Osteoarthritis in over 16s: diagnosis and management (NG226)",
                "NICE guideline",
                "2022",
                url="https://www.nice.org.uk/guidance/ng226",
            ),
            _R(
                "Kolasinski SL, Neogi T, Hochberg MC, et al.",
                "2019 American College of Rheumatology/Arthritis Foundation guideline for the "
                "management of osteoarthritis of the hand, hip, and knee",
                "Arthritis Care Res (Hoboken)",
                "2020",
                "72(2):149-162",
                doi="10.1002/acr.24131",
                pmid="31908149",
            ),
        ),
    ),
    Source(
        "S47",
        "M",
        (
            _R(
                "National Institute for Health and Care Excellence",
                "Low back pain and sciatica in over 16s: assessment and management (NG59)",
                "NICE guideline",
                "2016, updated 2020",
                url="https://www.nice.org.uk/guidance/ng59",
            ),
        ),
    ),
    Source(
        "S48",
        "M",
        (
            _R(
                "Finucane LM, Downie A, Mercer C, Greenhalgh SM, Boissonnault WG, "
                "Pool-Goudzwaard AL, Beneciuk JM, Leech RL, Selfe J",
                "International framework for red flags for potential serious spinal pathologies",
                "J Orthop Sports Phys Ther",
                "2020",
                "50(7):350-372",
                doi="10.2519/jospt.2020.9971",
                pmid="32438853",
            ),
            _R(
                "Downie A, Williams CM, Henschke N, Hancock MJ, Ostelo RW, de Vet HC, "
                "Macaskill P, Irwig L, van Tulder MW, Koes BW, Maher CG",
                "Red flags to screen for malignancy and fracture in patients with low back "
                "pain: systematic review",
                "BMJ",
                "2013",
                "347:f7095",
                doi="10.1136/bmj.f7095",
            ),
        ),
    ),
    Source(
        "S49",
        "M",
        (
            _R(
                "Griffin DR, Dickenson EJ, O'Donnell J, et al.",
                "The Warwick Agreement on femoroacetabular impingement syndrome (FAI "
                "syndrome): an international consensus statement",
                "Br J Sports Med",
                "2016",
                "50(19):1169-1176",
                doi="10.1136/bjsports-2016-096743",
            ),
            _R(
                "Griffin DR, Dickenson EJ, Wall PDH, et al.",
                "Hip arthroscopy versus best conservative care for the treatment of "
                "femoroacetabular impingement syndrome (UK FASHIoN)",
                "Lancet",
                "2018",
                "391(10136):2225-2235",
                doi="10.1016/S0140-6736(18)31202-9",
                pmid="29893223",
            ),
        ),
    ),
    Source(
        "S50",
        "M",
        (
            _R(
                "Weir A, Brukner P, Delahunt E, et al.",
                "Doha agreement meeting on terminology and definitions in groin pain in athletes",
                "Br J Sports Med",
                "2015",
                "49(12):768-774",
                doi="10.1136/bjsports-2015-094869",
                pmid="26031643",
            ),
        ),
    ),
    Source(
        "seed 001",
        "M",
        (),
        "Evidence seed cited in §5.2: the link between reduced hip rotation and low back pain "
        "is supported by very-low-quality evidence. The fourth edition does not write out its "
        "reference.",
    ),
    Source(
        "seed 002",
        "M",
        (),
        "Evidence seed cited in §5.2 for the combined programme (functional subtype). The "
        "fourth edition does not write out its reference.",
    ),
    Source(
        "seed 003",
        "M",
        (),
        "Evidence seed cited in §5.2 for the hip-driven programme (exercise in hip "
        "osteoarthritis). The fourth edition does not write out its reference.",
    ),
    Source(
        "seed 004",
        "M",
        (),
        "Evidence seed cited in §5.2 for the structural programme. The fourth edition does not "
        "write out its reference.",
    ),
)

#: Every source, in the page's order, keyed by the id the spec uses ("S42", "seed 001").
SOURCES: Mapping[str, Source] = MappingProxyType({s.id: s for s in _ALL})


def source(source_id: str) -> Source:
    """The source ``source_id`` ("S42", "s42", "seed 001", "seed-001" all work).

    :raise KeyError: no such source.
    """
    if source_id in SOURCES:
        return SOURCES[source_id]
    wanted = source_anchor(source_id)
    for s in SOURCES.values():
        if s.anchor == wanted:
            return s
    raise KeyError(source_id)
