"""Qualified element names of the XNachweis messages, computed once at import.

Private module of :mod:`noots.messages`. Each element's namespace is the one of the schema that
*declares* it, not the one of its parent: that is the trap the names here take care of.
"""

from __future__ import annotations

from noots._messages_model import (
    MESSAGE_TYPE_ERROR_RESPONSE,
    MESSAGE_TYPE_REQUEST,
    MESSAGE_TYPE_RESPONSE,
    NS_BDT,
    NS_BEH,
    NS_BK,
    NS_DE,
    NS_EDM,
    NS_G2G,
)


def _de(local: str) -> str:
    return f"{{{NS_DE}}}{local}"


def _bk(local: str) -> str:
    return f"{{{NS_BK}}}{local}"


def _bdt(local: str) -> str:
    return f"{{{NS_BDT}}}{local}"


# roots
REQUEST = _de(MESSAGE_TYPE_REQUEST)
RESPONSE = _de(MESSAGE_TYPE_RESPONSE)
ERROR_RESPONSE = _de(MESSAGE_TYPE_ERROR_RESPONSE)

# message body (de-noots)
LANG = _de("lang")
STATUS = _de("status")
SPECIFICATION_IDENTIFIER = _de("SpecificationIdentifier")
EVIDENCE_RESPONSE_IDENTIFIER = _de("EvidenceResponseIdentifier")
ISSUE_DATE_TIME = _de("IssueDateTime")
EVIDENCE_REQUESTER = _de("EvidenceRequester")
EVIDENCE_PROVIDER = _de("EvidenceProvider")
ERROR_PROVIDER = _de("ErrorProvider")
ISSUED_TOKEN = _de("IssuedToken")
QUERY = _de("Query")
EVIDENCE_AVAILABILITY = _de("EvidenceAvailability")
REGISTRY_OBJECT_LIST = _de("RegistryObjectList")
RESPONSE_AVAILABLE_DATE_TIME = _de("ResponseAvailableDateTime")
EXCEPTION = _de("Exception")

# message head (baukasten, leser/autor in Basisnachricht)
NACHRICHTENKOPF = _bk("nachrichtenkopf")
IDENTIFIKATION_NACHRICHT = _bk("identifikation.nachricht")
NACHRICHTEN_UUID = _bk("nachrichtenUUID")
NACHRICHTENTYP = _bk("nachrichtentyp")
ERSTELLUNGSZEITPUNKT = _bk("erstellungszeitpunkt")
LESER = f"{{{NS_G2G}}}leser"
AUTOR = f"{{{NS_G2G}}}autor"
VERZEICHNISDIENST = f"{{{NS_BEH}}}verzeichnisdienst"
KENNUNG = f"{{{NS_BEH}}}kennung"
NAME_BEH = f"{{{NS_BEH}}}name"

# agents (Identifier/Name from baukasten, Address/Classification from eu-edm)
IDENTIFIER = _bk("Identifier")
NAME = _bk("Name")
ADDRESS = f"{{{NS_EDM}}}Address"
CLASSIFICATION = f"{{{NS_EDM}}}Classification"
ANY_CONTENT = _bk("AnyContent")

# multilingual strings and identifiers (basisdatentypen)
VALUE = _bdt("value")
LANG_BDT = _bdt("lang")
SCHEME_ID = _bdt("schemeID")
CODE = "code"  # no namespace, ever
CODE_NAME = "name"

# addresses
FULL_ADDRESS = _bk("FullAddress")
THOROUGHFARE = _bk("Thoroughfare")
LOCATOR_DESIGNATOR = _bk("LocatorDesignator")
ADMIN_UNIT_LEVEL_1 = _bk("AdminUnitLevel1")
ADMIN_UNIT_LEVEL_2 = _bk("AdminUnitLevel2")
POST_CODE = _bk("PostCode")
POST_CITY_NAME = _bk("PostCityName")

# query
QUERY_DEFINITION = _bk("QueryDefinition")
REQUESTED_EVIDENCE_TYPE = _bk("RequestedEvidenceType")
EVIDENCE_TYPE_CLASSIFICATION = _bk("EvidenceTypeClassification")
TITLE = _bk("Title")
DESCRIPTION = _bk("Description")
DISTRIBUTED_AS = _bk("DistributedAs")
FORMAT = _bk("Format")
CONFORMS_TO = _bk("ConformsTo")
TRANSFORMATION = _bk("Transformation")
AUTHORIZED_REPRESENTATIVE = _bk("AuthorizedRepresentative")
LEGAL_OR_NATURAL_PERSON = _bk("LegalOrNaturalPerson")

# persons
NATURAL_PERSON = _bk("NaturalPerson")
LEGAL_PERSON = _bk("LegalPerson")
DATE_OF_BIRTH = _bk("DateOfBirth")
FAMILY_NAME = _bk("FamilyName")
GIVEN_NAME = _bk("GivenName")
LEVEL_OF_ASSURANCE = _bk("LevelOfAssurance")
BIRTH_NAME = _bk("BirthName")
PLACE_OF_BIRTH = _bk("PlaceOfBirth")
CURRENT_ADDRESS = _bk("CurrentAdress")  # sic: the schema's spelling
GENDER = _bk("Gender")
SECTOR_SPECIFIC_ATTRIBUTE = _bk("SectorSpecificAttribute")
IDNR = _bk("IDNr")
LEGAL_PERSON_IDENTIFIER = _bk("LegalPersonIdentifier")
LEGAL_NAME = _bk("LegalName")
REGISTERED_ADDRESS = _bk("RegisteredAddress")

# evidence
ID = _bk("id")
EVIDENCE_METADATA = _bk("EvidenceMetadata")
ISSUING_DATE = _bk("IssuingDate")
VALIDITY_PERIOD = _bk("ValidityPeriod")
START_DATE = _bk("StartDate")
END_DATE = _bk("EndDate")
ISSUING_AUTHORITY = _bk("IssuingAuthority")
DISTRIBUTION = _bk("Distribution")
LANGUAGE = _bk("Language")
IS_CONFORMANT_TO = _bk("IsConformantTo")
REPOSITORY_ITEM = _bk("RepositoryItem")
REPOSITORY_ITEM_REF = _bk("RepositoryItemRef")

# exceptions
ERROR_CODE = _bk("Code")
DETAIL = _bk("Detail")
TIMESTAMP = _bk("Timestamp")
SEVERITY = _bk("Severity")

# --- use cases 3 and 4 (the EU border) --------------------------------------------------------

EU_REQUEST = _de("DE.EvidenceRequest.0301")
EU_RESPONSE = _de("DE.EvidenceResponse.0302")
EU_ERROR_RESPONSE = _de("DE.EvidenceErrorResponse.0303")
ORDER = _de("DE.EvidenceOrder.0401")
ORDER_RESPONSE = _de("DE.EvidenceOrderResponse.0402")
ORDER_ERROR_RESPONSE = _de("DE.EvidenceOrderErrorResponse.0403")
GET_EVIDENCE = _de("DE.GetEvidence.0411")
GET_EVIDENCE_RESPONSE = _de("DE.GetEvidenceResponse.0412")
GET_EVIDENCE_ERROR_RESPONSE = _de("DE.GetEvidenceErrorResponse.0413")

PROCEDURE = _de("Procedure")
REQUIREMENT = _de("Requirement")
BACK_TO_EVIDENCE_REQUESTER_URL = _de("BackToEvidenceRequesterURL")
ORDER_RESPONSE_IDENTIFIER = _de("OrderResponseIdentifier")
URL_TO_IP = _de("URLtoIP")
CONVERSATION_ID = _de("ConversationID")
GET_EVIDENCE_RESPONSE_IDENTIFIER = _de("GetEvidenceResponseIdentifier")

# RequirementType (eu-edm) and its NOOTS extension (baukasten)
REQUIREMENT_IDENTIFIER = f"{{{NS_EDM}}}Identifier"
REQUIREMENT_NAME = f"{{{NS_EDM}}}Name"
COUNTRY = _bk("Country")
