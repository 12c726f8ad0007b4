import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct TableOfContentsTests {
    static let listing = """
        ;
        ; Archive created at 2026-11-20 03:00:12 UTC
        ;     dbname: my_app_1234
        ;     TOC Entries: 6
        ;     Compression: -1
        ;     Dump Version: 1.14-0
        ;     Format: CUSTOM
        ;     Integer: 4 bytes
        ;     Offset: 8 bytes
        ;     Dumped from database version: 15.5
        ;     Dumped by pg_dump version: 15.5
        ;
        ;
        ; Selected TOC Entries:
        ;
        2; 3079 16385 EXTENSION - pgcrypto 
        215; 1259 16390 TABLE public offres_de_stage my_app_1234
        3345; 0 16390 TABLE DATA public offres_de_stage my_app_1234
        3200; 2606 16400 CONSTRAINT public offres_de_stage offres_de_stage_pkey my_app_1234
        3210; 2606 16420 FK CONSTRAINT public offres_de_stage_components offres_de_stage_components_entity_fk my_app_1234
        3400; 0 0 SEQUENCE SET public offres_de_stage_id_seq my_app_1234
        """

    @Test func readsTheHeader() {
        let toc = TableOfContents.parse(Self.listing)
        #expect(toc.databaseName == "my_app_1234")
        #expect(toc.dumpFormatVersion == "1.14-0")
        #expect(toc.format == "CUSTOM")
        #expect(toc.sourceServerVersion == "15.5")
        #expect(toc.pgDumpVersion == "15.5")
        #expect(toc.declaredEntryCount == 6)
        #expect(toc.entries.count == 6)
    }

    @Test func readsMultiWordTypesAndNamesWithSpaces() {
        let toc = TableOfContents.parse(Self.listing)
        #expect(toc.entries[0].type == "EXTENSION" && toc.entries[0].name == "pgcrypto" && toc.entries[0].owner == "")
        #expect(toc.entries[2] == .init(id: 3345, type: "TABLE DATA", schema: "public", name: "offres_de_stage", owner: "my_app_1234",
                                        line: "3345; 0 16390 TABLE DATA public offres_de_stage my_app_1234"))
        #expect(toc.entries[3].type == "CONSTRAINT" && toc.entries[3].name == "offres_de_stage offres_de_stage_pkey")
        #expect(toc.entries[4].type == "FK CONSTRAINT")
        #expect(toc.entries[5].type == "SEQUENCE SET" && toc.entries[5].name == "offres_de_stage_id_seq")
        #expect(toc.ownerRoles == ["my_app_1234"])
    }

    @Test func ignoresCommentedOutLines() {
        let toc = TableOfContents.parse(";3345; 0 16390 TABLE DATA public t owner\n12; 0 0 TABLE DATA public u owner\n")
        #expect(toc.entries.map(\.id) == [12])
    }
}
