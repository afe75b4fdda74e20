"""The demo's question bank: procurement questions for each of the framework's 13 competencies.

Every question is written in Spanish and in English; the demo loads the installation's
language (`MERITO_DEFAULT_LOCALE`), since a bank question has one text. In the source the right
answer is always the first option; `options_in_order` moves it to a different place per
question, the same in both languages, so the answer key is not "always A".
"""

from __future__ import annotations

from dataclasses import dataclass

# (code, Spanish name, English name)
DOMAINS: list[tuple[str, str, str]] = [
    (
        "procurement_law",
        "Normativa y procedimientos de contratación",
        "Procurement law and procedures",
    ),
    ("markets_negotiation", "Mercado y negociación", "Markets and negotiation"),
    ("public_finance", "Finanzas públicas y resultados", "Public finance and results"),
    ("supply_systems", "Abasto, logística y sistemas", "Supply, logistics and systems"),
    ("public_management", "Gestión pública e integridad", "Public management and integrity"),
]


@dataclass(frozen=True)
class DemoQuestion:
    competency: str
    domain: str
    difficulty: int
    es: tuple[str, tuple[str, ...]]  # (stem, options: the right one first)
    en: tuple[str, tuple[str, ...]]

    def text(self, locale: str) -> tuple[str, tuple[str, ...]]:
        return self.en if locale == "en" else self.es


def options_in_order(question: DemoQuestion, index: int, locale: str) -> tuple[list[str], int]:
    """Return the question's options in display order and the right one's position (from 0)."""
    _stem, options = question.text(locale)
    shift = index % len(options)
    ordered = list(options[shift:] + options[:shift])
    return ordered, (len(options) - shift) % len(options)


Q = DemoQuestion
QUESTIONS: list[DemoQuestion] = [
    # --- procurement_process ---
    Q(
        "procurement_process",
        "procurement_law",
        1,
        (
            "¿Qué procedimiento de contratación establece la ley como regla general?",
            (
                "La licitación pública",
                "La adjudicación directa",
                "La invitación a cuando menos tres personas",
                "La compra por fondo revolvente",
            ),
        ),
        (
            "Which procurement procedure does the law set as the general rule?",
            (
                "The public tender",
                "The direct award",
                "The invitation to at least three suppliers",
                "The purchase from petty cash",
            ),
        ),
    ),
    Q(
        "procurement_process",
        "procurement_law",
        2,
        (
            "En una licitación pública, ¿para qué sirve la junta de aclaraciones?",
            (
                "Para resolver las dudas de los interesados; lo aclarado forma parte de la "
                "convocatoria",
                "Para negociar el precio con el licitante de la oferta más baja",
                "Para abrir las proposiciones técnicas y económicas",
                "Para notificar el fallo a los licitantes",
            ),
        ),
        (
            "In a public tender, what is the clarification meeting for?",
            (
                "To answer bidders' questions; what is clarified becomes part of the call for "
                "tenders",
                "To negotiate the price with the lowest bidder",
                "To open the technical and economic bids",
                "To notify the bidders of the award",
            ),
        ),
    ),
    Q(
        "procurement_process",
        "procurement_law",
        3,
        (
            "¿Cuándo es adecuado el criterio de evaluación binario?",
            (
                "Cuando los bienes están estandarizados: se verifica que cumplan y se adjudica a "
                "la oferta solvente más baja",
                "Cuando se contrata consultoría de alta especialidad",
                "Cuando se quiere premiar con puntos la experiencia del proveedor",
                "Cuando el área requirente no definió especificaciones técnicas",
            ),
        ),
        (
            "When is the binary evaluation method appropriate?",
            (
                "When the goods are standardised: bids are checked for compliance and the lowest "
                "compliant bid wins",
                "When highly specialised consultancy is contracted",
                "When the supplier's experience should earn extra points",
                "When the requesting area set no technical specifications",
            ),
        ),
    ),
    # --- negotiation ---
    Q(
        "negotiation",
        "markets_negotiation",
        1,
        (
            "Antes de negociar con un proveedor, ¿qué conviene definir primero?",
            (
                "El objetivo, el margen aceptable y la mejor alternativa si no hay acuerdo",
                "Un obsequio para el proveedor que genere confianza",
                "Las concesiones que se harán desde el inicio",
                "Nada: improvisar da flexibilidad",
            ),
        ),
        (
            "Before negotiating with a supplier, what should be defined first?",
            (
                "The objective, the acceptable range and the best alternative to an agreement",
                "A gift for the supplier to build trust",
                "The concessions to make from the start",
                "Nothing: improvising keeps one flexible",
            ),
        ),
    ),
    Q(
        "negotiation",
        "markets_negotiation",
        2,
        (
            "Un proveedor ofrece un descuento si el contrato se firma hoy, sin revisarlo. "
            "¿Qué hace usted?",
            (
                "Revisa el contrato como marca el procedimiento y deja constancia escrita de la "
                "oferta",
                "Firma de inmediato para no perder el descuento",
                "Acepta y pide al proveedor que no lo mencione",
                "Se niega a volver a tratar con ese proveedor",
            ),
        ),
        (
            "A supplier offers a discount if the contract is signed today, without review. "
            "What do you do?",
            (
                "Review the contract as the procedure requires and record the offer in writing",
                "Sign at once so as not to lose the discount",
                "Accept and ask the supplier not to mention it",
                "Refuse ever to deal with that supplier again",
            ),
        ),
    ),
    Q(
        "negotiation",
        "markets_negotiation",
        3,
        (
            "¿Qué mecanismo permite a los licitantes mejorar sus precios en rondas sucesivas "
            "durante el procedimiento?",
            (
                "Las ofertas subsecuentes de descuentos",
                "La junta de aclaraciones",
                "La investigación de mercado",
                "La garantía de cumplimiento",
            ),
        ),
        (
            "Which mechanism lets bidders improve their prices in successive rounds during the "
            "procedure?",
            (
                "Subsequent discount offers (a reverse auction)",
                "The clarification meeting",
                "The market research",
                "The performance bond",
            ),
        ),
    ),
    # --- strategy_market_analysis ---
    Q(
        "strategy_market_analysis",
        "markets_negotiation",
        1,
        (
            "¿Cuál es el propósito principal de la investigación de mercado previa a una "
            "contratación?",
            (
                "Conocer la oferta, los proveedores y los precios para elegir el procedimiento y "
                "estimar el costo",
                "Elegir de antemano al proveedor ganador",
                "Cumplir un trámite sin efecto en la decisión",
                "Publicar la convocatoria en el sistema electrónico",
            ),
        ),
        (
            "What is the main purpose of market research before a procurement?",
            (
                "To learn the supply, suppliers and prices, so as to choose the procedure and "
                "estimate the cost",
                "To choose the winning supplier in advance",
                "To complete a formality with no effect on the decision",
                "To publish the call for tenders in the electronic system",
            ),
        ),
    ),
    Q(
        "strategy_market_analysis",
        "markets_negotiation",
        2,
        (
            "La investigación de mercado encuentra un solo proveedor de un medicamento. "
            "¿Qué conviene hacer?",
            (
                "Documentar las fuentes consultadas y buscar alternativas (genéricos, otros "
                "mercados) antes de justificar una excepción",
                "Adjudicar directamente sin más análisis",
                "Dividir la compra en varias partes pequeñas",
                "Pedir al proveedor dos cotizaciones más a nombre de otras empresas",
            ),
        ),
        (
            "Market research finds a single supplier of a medicine. What should be done?",
            (
                "Document the sources consulted and look for alternatives (generics, other "
                "markets) before justifying an exception",
                "Award directly without further analysis",
                "Split the purchase into several small parts",
                "Ask the supplier for two more quotes in other companies' names",
            ),
        ),
    ),
    Q(
        "strategy_market_analysis",
        "markets_negotiation",
        3,
        (
            "¿Cuál es la principal ventaja de las compras consolidadas de medicamentos?",
            (
                "Agregar la demanda de varias instituciones para obtener mejores precios y "
                "condiciones",
                "Evitar la licitación pública",
                "Permitir que cada hospital elija a su proveedor",
                "Eliminar la necesidad de planear la demanda",
            ),
        ),
        (
            "What is the main advantage of consolidated purchases of medicines?",
            (
                "Pooling the demand of several institutions to obtain better prices and terms",
                "Avoiding the public tender",
                "Letting each hospital choose its own supplier",
                "Removing the need to plan demand",
            ),
        ),
    ),
    # --- financial ---
    Q(
        "financial",
        "public_finance",
        1,
        (
            "Antes de iniciar un procedimiento de contratación, ¿qué debe verificarse?",
            (
                "Que exista suficiencia presupuestaria para cubrir el contrato",
                "Que el proveedor haya hecho un donativo a la institución",
                "Que el área requirente haya elegido una marca",
                "Que el contrato se pague por anticipado",
            ),
        ),
        (
            "Before starting a procurement procedure, what must be checked?",
            (
                "That there is enough budget to cover the contract",
                "That the supplier has made a donation to the institution",
                "That the requesting area has chosen a brand",
                "That the contract will be paid in advance",
            ),
        ),
    ),
    Q(
        "financial",
        "public_finance",
        2,
        (
            "Dividir una compra en operaciones menores para quedar bajo el monto que obliga a "
            "licitar es:",
            (
                "Fraccionamiento, prohibido por la ley",
                "Una práctica de ahorro recomendable",
                "Obligatorio en las compras urgentes",
                "Una forma de compra consolidada",
            ),
        ),
        (
            "Splitting a purchase into smaller ones to stay under the threshold that requires a "
            "tender is:",
            (
                "Contract splitting, which the law prohibits",
                "A recommended saving practice",
                "Mandatory in urgent purchases",
                "A form of consolidated purchase",
            ),
        ),
    ),
    Q(
        "financial",
        "public_finance",
        3,
        (
            "Al evaluar con el criterio de costo-beneficio, ¿qué se compara?",
            (
                "El costo total durante la vida útil (precio, mantenimiento, consumibles) frente "
                "a los beneficios",
                "Solo el precio unitario ofertado",
                "El capital social de los licitantes",
                "El número de contratos previos de cada licitante",
            ),
        ),
        (
            "When bids are evaluated by cost-benefit, what is compared?",
            (
                "The total cost over the useful life (price, maintenance, consumables) against "
                "the benefits",
                "Only the unit price offered",
                "The bidders' share capital",
                "Each bidder's number of earlier contracts",
            ),
        ),
    ),
    # --- legal ---
    Q(
        "legal",
        "procurement_law",
        1,
        (
            "¿Qué ley federal regula las adquisiciones, los arrendamientos y los servicios de "
            "las dependencias y entidades?",
            (
                "La Ley de Adquisiciones, Arrendamientos y Servicios del Sector Público",
                "La Ley de Obras Públicas y Servicios Relacionados con las Mismas",
                "La Ley Federal del Trabajo",
                "La Ley General de Salud",
            ),
        ),
        (
            "Which federal law governs the acquisitions, leases and services of federal "
            "agencies and entities?",
            (
                "The Law on Acquisitions, Leases and Services of the Public Sector",
                "The Law on Public Works and Related Services",
                "The Federal Labour Law",
                "The General Health Law",
            ),
        ),
    ),
    Q(
        "legal",
        "procurement_law",
        2,
        (
            "El artículo 134 de la Constitución exige administrar los recursos públicos con:",
            (
                "Eficiencia, eficacia, economía, transparencia y honradez",
                "Discrecionalidad y rapidez",
                "Preferencia por los proveedores conocidos",
                "Confidencialidad absoluta de los contratos",
            ),
        ),
        (
            "Article 134 of the Mexican Constitution requires public resources to be managed with:",
            (
                "Efficiency, effectiveness, economy, transparency and honesty",
                "Discretion and speed",
                "A preference for known suppliers",
                "Absolute confidentiality of contracts",
            ),
        ),
    ),
    Q(
        "legal",
        "procurement_law",
        3,
        (
            "Un licitante no está de acuerdo con el fallo. ¿Qué medio de defensa tiene?",
            (
                "La inconformidad ante la autoridad competente, dentro del plazo legal",
                "Una queja ante el área requirente",
                "Pedir al comité de adquisiciones que repita el procedimiento a su favor",
                "Ninguno: el fallo no puede impugnarse",
            ),
        ),
        (
            "A bidder disagrees with the award decision. What remedy do they have?",
            (
                "A formal challenge (inconformidad) before the competent authority, within the "
                "legal time limit",
                "A complaint to the requesting area",
                "Asking the procurement committee to repeat the procedure in their favour",
                "None: an award decision cannot be challenged",
            ),
        ),
    ),
    # --- results_focus ---
    Q(
        "results_focus",
        "public_finance",
        1,
        (
            "Las existencias de un medicamento esencial caen por debajo del mínimo. "
            "¿Qué hace primero?",
            (
                "Confirma el dato, avisa al área usuaria y activa la medida de abasto prevista",
                "Espera al siguiente ejercicio fiscal",
                "Compra sin procedimiento al primer proveedor disponible",
                "Cambia el indicador para que deje de verse en rojo",
            ),
        ),
        (
            "Stock of an essential medicine falls below the minimum. What do you do first?",
            (
                "Confirm the figure, tell the user area and trigger the planned supply measure",
                "Wait for the next fiscal year",
                "Buy without a procedure from the first supplier available",
                "Change the indicator so that it no longer shows red",
            ),
        ),
    ),
    Q(
        "results_focus",
        "public_finance",
        2,
        (
            "¿Qué indicador refleja mejor el desempeño de una unidad de compras?",
            (
                "El porcentaje de requisiciones surtidas a tiempo y con la calidad pedida",
                "El número de reuniones celebradas",
                "La cantidad de documentos impresos",
                "Las horas extra del personal",
            ),
        ),
        (
            "Which indicator best reflects the performance of a purchasing unit?",
            (
                "The share of requisitions filled on time and to the quality requested",
                "The number of meetings held",
                "The number of documents printed",
                "Staff overtime hours",
            ),
        ),
    ),
    Q(
        "results_focus",
        "public_finance",
        3,
        (
            "Una licitación se declara desierta. ¿Cuál es la mejor respuesta?",
            (
                "Analizar por qué no hubo propuestas solventes y ajustar la convocatoria antes "
                "de repetirla",
                "Repetir la misma convocatoria sin cambios",
                "Adjudicar al licitante con menos incumplimientos",
                "Dar por cancelada la necesidad del área requirente",
            ),
        ),
        (
            "A tender is declared void (no compliant bids). What is the best response?",
            (
                "Analyse why no bid was compliant and adjust the call before repeating it",
                "Repeat the same call unchanged",
                "Award to the bidder with the fewest failures",
                "Treat the requesting area's need as cancelled",
            ),
        ),
    ),
    # --- systems_capability ---
    Q(
        "systems_capability",
        "supply_systems",
        1,
        (
            "¿Dónde se publican y registran los procedimientos de contratación del gobierno "
            "federal?",
            (
                "En la plataforma electrónica de contrataciones públicas del gobierno federal",
                "En el portal del Servicio de Administración Tributaria",
                "Solo en los estrados de cada unidad compradora",
                "En el sistema de nómina",
            ),
        ),
        (
            "Where are the federal government's procurement procedures published and recorded?",
            (
                "On the federal government's electronic public procurement platform",
                "On the Tax Administration Service's portal",
                "Only on each purchasing unit's notice board",
                "In the payroll system",
            ),
        ),
    ),
    Q(
        "systems_capability",
        "supply_systems",
        2,
        (
            "Al registrar un contrato en el sistema falta la partida presupuestaria. ¿Qué hace?",
            (
                "La obtiene del área de presupuesto y completa el registro antes de continuar",
                "Captura un número provisional inventado",
                "Deja el campo vacío y publica",
                "Registra el contrato en una hoja de cálculo personal",
            ),
        ),
        (
            "When you record a contract in the system, the budget line is missing. What do you do?",
            (
                "Get it from the budget area and complete the record before going on",
                "Enter a made-up provisional number",
                "Leave the field empty and publish",
                "Record the contract in a personal spreadsheet",
            ),
        ),
    ),
    Q(
        "systems_capability",
        "supply_systems",
        3,
        (
            "¿Por qué es valioso publicar los datos de contratación en formato abierto?",
            (
                "Cualquiera puede analizar precios y proveedores, lo que revela riesgos y "
                "favorece la competencia",
                "Protege la identidad de los proveedores",
                "Evita la fiscalización externa",
                "Sustituye a la investigación de mercado",
            ),
        ),
        (
            "Why is it valuable to publish procurement data in an open format?",
            (
                "Anyone can analyse prices and suppliers, which reveals risks and helps "
                "competition",
                "It protects the suppliers' identity",
                "It avoids external audit",
                "It replaces market research",
            ),
        ),
    ),
    # --- inventory_logistics_supply_chain ---
    Q(
        "inventory_logistics_supply_chain",
        "supply_systems",
        1,
        (
            "¿Qué regla de salida de almacén conviene para medicamentos con fecha de caducidad?",
            (
                "Primeras caducidades, primeras salidas",
                "Últimas entradas, primeras salidas",
                "Salidas al azar",
                "Primero los más caros",
            ),
        ),
        (
            "Which rule for issuing stock suits medicines with an expiry date?",
            (
                "First expiry, first out",
                "Last in, first out",
                "Issue at random",
                "The most expensive first",
            ),
        ),
    ),
    Q(
        "inventory_logistics_supply_chain",
        "supply_systems",
        2,
        (
            "¿Qué es el punto de reorden?",
            (
                "El nivel de existencias al que hay que pedir para no agotar el inventario "
                "durante el tiempo de entrega",
                "El día en que cierra el ejercicio fiscal",
                "El número máximo de proveedores por insumo",
                "El precio máximo de referencia",
            ),
        ),
        (
            "What is the reorder point?",
            (
                "The stock level at which to order so as not to run out during the delivery time",
                "The day the fiscal year closes",
                "The maximum number of suppliers per item",
                "The maximum reference price",
            ),
        ),
    ),
    Q(
        "inventory_logistics_supply_chain",
        "supply_systems",
        3,
        (
            "Un proveedor entrega tarde una y otra vez. Conforme al contrato, ¿qué procede?",
            (
                "Aplicar las penas convencionales pactadas y, si persiste, iniciar la rescisión",
                "Pasarlo por alto para cuidar la relación",
                "Pagarle por adelantado para motivarlo",
                "Comprar lo faltante con recursos propios",
            ),
        ),
        (
            "A supplier delivers late again and again. Under the contract, what follows?",
            (
                "Apply the agreed late-delivery penalties and, if it goes on, start termination",
                "Overlook it to protect the relationship",
                "Pay in advance to motivate the supplier",
                "Buy what is missing with your own money",
            ),
        ),
    ),
    # --- organisational_awareness ---
    Q(
        "organisational_awareness",
        "public_management",
        1,
        (
            "¿Qué órgano colegiado de la institución dictamina sobre las excepciones a la "
            "licitación pública?",
            (
                "El Comité de Adquisiciones, Arrendamientos y Servicios",
                "El sindicato",
                "La junta de aclaraciones",
                "El área de comunicación social",
            ),
        ),
        (
            "Which of the institution's committees rules on exceptions to the public tender?",
            (
                "The Acquisitions, Leases and Services Committee",
                "The trade union",
                "The clarification meeting",
                "The press office",
            ),
        ),
    ),
    Q(
        "organisational_awareness",
        "public_management",
        2,
        (
            "¿Por qué quien compra insumos médicos debe conocer las necesidades del área médica?",
            (
                "Porque las especificaciones y los plazos de entrega afectan directamente la "
                "atención a los derechohabientes",
                "Porque así puede elegir las marcas que prefiere",
                "Porque el área médica aprueba el presupuesto de compras",
                "No hace falta: basta con comparar precios",
            ),
        ),
        (
            "Why must a buyer of medical supplies understand the medical area's needs?",
            (
                "Because specifications and delivery times directly affect the care of "
                "beneficiaries",
                "Because it lets the buyer choose the brands they prefer",
                "Because the medical area approves the purchasing budget",
                "There is no need: comparing prices is enough",
            ),
        ),
    ),
    Q(
        "organisational_awareness",
        "public_management",
        3,
        (
            "Un directivo de otra área le pide acelerar el contrato de un proveedor que él "
            "recomienda. ¿Qué hace?",
            (
                "Sigue el procedimiento, informa a su superior y, si hay presión indebida, la "
                "denuncia por el canal institucional",
                "Acelera el contrato para quedar bien",
                "Adjudica directamente al proveedor recomendado",
                "Omite pasos del procedimiento por tratarse de un directivo",
            ),
        ),
        (
            "A senior official from another area asks you to speed up the contract of a "
            "supplier they recommend. What do you do?",
            (
                "Follow the procedure, tell your manager and, if the pressure is undue, report "
                "it through the institution's channel",
                "Speed up the contract to stay on good terms",
                "Award directly to the recommended supplier",
                "Skip steps of the procedure because a senior official asked",
            ),
        ),
    ),
    # --- self_management ---
    Q(
        "self_management",
        "public_management",
        1,
        (
            "Tiene tres procedimientos con plazos legales en la misma semana. ¿Qué hace?",
            (
                "Ordena el trabajo por plazo y riesgo, y pide apoyo a tiempo si lo necesita",
                "Atiende primero el que le resulta más interesante",
                "Espera a que alguien le fije prioridades",
                "Pide prórroga de todos sin analizarlos",
            ),
        ),
        (
            "You have three procedures with legal deadlines in the same week. What do you do?",
            (
                "Order the work by deadline and risk, and ask for help in good time if needed",
                "Deal first with the one you find most interesting",
                "Wait for someone to set your priorities",
                "Ask for an extension on all of them without analysing them",
            ),
        ),
    ),
    Q(
        "self_management",
        "public_management",
        2,
        (
            "Detecta un error suyo en una convocatoria ya publicada. ¿Qué hace?",
            (
                "Lo informa de inmediato y propone la corrección por la vía formal "
                "(modificación o junta de aclaraciones)",
                "Lo oculta y espera que nadie lo note",
                "Culpa al sistema electrónico",
                "Cancela el procedimiento sin explicar por qué",
            ),
        ),
        (
            "You find a mistake of yours in a call for tenders already published. What do you do?",
            (
                "Report it at once and propose the correction through the formal route (an "
                "amendment or the clarification meeting)",
                "Hide it and hope nobody notices",
                "Blame the electronic system",
                "Cancel the procedure without saying why",
            ),
        ),
    ),
    Q(
        "self_management",
        "public_management",
        2,
        (
            "La normativa de contratación cambió. ¿Cuál es la mejor manera de mantenerse al día?",
            (
                "Estudiar los cambios en fuentes oficiales y pedir capacitación cuando haga falta",
                "Esperar a cometer un error para aprender",
                "Seguir trabajando como antes",
                "Preguntar solo a los proveedores",
            ),
        ),
        (
            "Procurement rules have changed. What is the best way to keep up to date?",
            (
                "Study the changes in official sources and ask for training where needed",
                "Wait until a mistake teaches you",
                "Keep working as before",
                "Ask only the suppliers",
            ),
        ),
    ),
    # --- leadership ---
    Q(
        "leadership",
        "public_management",
        1,
        (
            "En su equipo las cargas de trabajo son muy desiguales. ¿Qué hace?",
            (
                "Reparte las tareas según capacidades y desarrolla a quien tiene menos experiencia",
                "Deja que los más rápidos hagan todo",
                "No interviene: cada quien se organiza",
                "Asigna el trabajo por antigüedad",
            ),
        ),
        (
            "Workloads in your team are very uneven. What do you do?",
            (
                "Share tasks out by ability and develop the less experienced",
                "Let the fastest do everything",
                "Stay out of it: everyone organises themselves",
                "Assign work by seniority",
            ),
        ),
    ),
    Q(
        "leadership",
        "public_management",
        2,
        (
            "¿Qué hace una buena jefatura ante un error de su equipo en un procedimiento?",
            (
                "Asume la responsabilidad, corrige el proceso y convierte el error en aprendizaje",
                "Busca a un culpable para sancionarlo públicamente",
                "Oculta el error a la dirección",
                "Deja de delegar tareas",
            ),
        ),
        (
            "What does a good manager do when the team makes a mistake in a procedure?",
            (
                "Take responsibility, fix the process and turn the mistake into learning",
                "Find someone to blame and sanction them publicly",
                "Hide the mistake from senior management",
                "Stop delegating tasks",
            ),
        ),
    ),
    Q(
        "leadership",
        "public_management",
        3,
        (
            "Va a introducir compras consolidadas en su unidad. ¿Cómo logra que el equipo las "
            "adopte?",
            (
                "Explica el propósito, involucra al equipo en el diseño, capacita y da seguimiento",
                "Las impone por oficio, sin explicación",
                "Deja que cada quien decida si las usa",
                "Espera a que la dirección lo explique",
            ),
        ),
        (
            "You are introducing consolidated purchasing in your unit. How do you get the team "
            "to adopt it?",
            (
                "Explain the purpose, involve the team in the design, train and follow up",
                "Impose it by memo, without explanation",
                "Let each person decide whether to use it",
                "Wait for senior management to explain it",
            ),
        ),
    ),
    # --- communication ---
    Q(
        "communication",
        "public_management",
        1,
        (
            "¿Qué debe contener un fallo bien comunicado?",
            (
                "Las razones de la adjudicación y del desechamiento de propuestas, con su "
                "fundamento",
                "Solo el nombre del licitante ganador",
                "Un resumen verbal en la junta",
                "Los datos personales de todos los licitantes",
            ),
        ),
        (
            "What must a well-communicated award decision contain?",
            (
                "The reasons for the award and for rejecting bids, with their legal basis",
                "Only the winning bidder's name",
                "A spoken summary at the meeting",
                "The personal data of every bidder",
            ),
        ),
    ),
    Q(
        "communication",
        "public_management",
        2,
        (
            "Un área requirente no entiende por qué su compra tardará dos meses. ¿Qué hace?",
            (
                "Explica con claridad las etapas y los plazos del procedimiento y acuerda fechas "
                "de seguimiento",
                "Le dice que así son las cosas, sin más detalle",
                "Promete una entrega imposible",
                "Deja de responder sus correos",
            ),
        ),
        (
            "A requesting area does not understand why its purchase will take two months. "
            "What do you do?",
            (
                "Explain the stages and time limits of the procedure clearly and agree "
                "follow-up dates",
                "Tell them that is how things are, with no detail",
                "Promise an impossible delivery date",
                "Stop answering their emails",
            ),
        ),
    ),
    Q(
        "communication",
        "public_management",
        3,
        (
            "Al redactar especificaciones técnicas, ¿qué es correcto?",
            (
                "Describir funciones y características verificables sin indicar marcas",
                "Copiar el catálogo de un fabricante",
                "Usar términos ambiguos para tener flexibilidad",
                "Pedir requisitos que solo cumple un proveedor conocido",
            ),
        ),
        (
            "When writing technical specifications, what is right?",
            (
                "Describe functions and verifiable characteristics without naming brands",
                "Copy a manufacturer's catalogue",
                "Use vague terms to keep flexibility",
                "Ask for requirements only one known supplier meets",
            ),
        ),
    ),
    # --- relationship_management ---
    Q(
        "relationship_management",
        "markets_negotiation",
        1,
        (
            "Un proveedor que participa en una licitación le invita a comer. ¿Qué hace?",
            (
                "Declina la invitación y mantiene el trato por los medios oficiales",
                "Acepta si la comida es sencilla",
                "Acepta y no lo comenta con nadie",
                "Acepta a cambio de información del mercado",
            ),
        ),
        (
            "A supplier taking part in a tender invites you to lunch. What do you do?",
            (
                "Decline and keep all contact through official channels",
                "Accept if the lunch is modest",
                "Accept and tell nobody",
                "Accept in exchange for market information",
            ),
        ),
    ),
    Q(
        "relationship_management",
        "markets_negotiation",
        2,
        (
            "¿Cómo se gestiona bien la relación con un proveedor después de la adjudicación?",
            (
                "Con reuniones de seguimiento documentadas, indicadores de servicio y trato "
                "igual para todos",
                "Con acuerdos informales por teléfono",
                "Con trato preferente para quien tiene más contratos",
                "Sin contacto hasta que algo falle",
            ),
        ),
        (
            "How is the relationship with a supplier managed well after the award?",
            (
                "With documented follow-up meetings, service indicators and equal treatment "
                "for all",
                "With informal agreements over the phone",
                "With preferential treatment for whoever holds most contracts",
                "With no contact until something fails",
            ),
        ),
    ),
    Q(
        "relationship_management",
        "markets_negotiation",
        3,
        (
            "Dos áreas usuarias piden el mismo insumo con especificaciones distintas. ¿Qué hace?",
            (
                "Las reúne para acordar una especificación común y consolidar la compra",
                "Compra las dos versiones por separado",
                "Elige la especificación del área de mayor rango",
                "Deja que el proveedor decida",
            ),
        ),
        (
            "Two user areas ask for the same item with different specifications. What do you do?",
            (
                "Bring them together to agree a common specification and consolidate the purchase",
                "Buy both versions separately",
                "Choose the specification of the more senior area",
                "Let the supplier decide",
            ),
        ),
    ),
]
